/**
 * The three sub-agents of the travel-planner example: flight search, hotel search and a weather
 * forecast. Each registers a capability (description, skills with examples, input and output JSON
 * Schemas) and serves tasks: a WORKING status, a streamed artifact, then the result. The data is
 * fake and deterministic (a hash of the input), so every run prints the same answer.
 *
 * Imported by main.ts; also runnable alone, to serve them from another terminal:
 *   node --import tsx examples/travel-planner/agents.ts --nameserver 127.0.0.1:9876
 */
import { pathToFileURL } from 'node:url';
import { registerAgent, type Agent, type Logger, type TaskContext } from '../../client/index.js';
import { exampleLogger, parseFlags, sleep } from '../shared/setup.js';

// --- deterministic fake data ----------------------------------------------------------------------

/** A PRNG seeded by a string (FNV-1a → mulberry32): the same input gives the same numbers. */
function rng(seed: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const between = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60) % 24).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** How long each agent "works" per step (short, so the example stays fast but the stream is visible). */
const STEP_MS = 150;

// --- flight search --------------------------------------------------------------------------------

export interface FlightQuery {
  origin: string;
  destination: string;
  date: string;
  passengers?: number;
}
export interface FlightOffer {
  flight: string;
  airline: string;
  departs: string;
  arrives: string;
  durationMinutes: number;
  stops: number;
  priceEur: number;
}
export interface FlightResult {
  origin: string;
  destination: string;
  date: string;
  passengers: number;
  offers: FlightOffer[];
}

const AIRLINES = [
  ['TP', 'TAP Air Portugal'],
  ['LH', 'Lufthansa'],
  ['FR', 'Ryanair'],
  ['U2', 'easyJet'],
  ['IB', 'Iberia'],
] as const;

async function searchFlights(task: TaskContext<FlightQuery>): Promise<FlightResult> {
  const { origin, destination, date } = task.input;
  const passengers = task.input.passengers ?? 1;
  await task.status('TASK_STATE_WORKING', `searching ${AIRLINES.length} airlines for ${origin} → ${destination} on ${date}`);
  const r = rng(`flights|${origin.toLowerCase()}|${destination.toLowerCase()}|${date}`);
  const offers: FlightOffer[] = [];
  for (const [code, airline] of AIRLINES) {
    await sleep(STEP_MS / 2, task.signal);
    const dep = between(r, 6 * 60, 20 * 60);
    const stops = r() < 0.35 ? 1 : 0;
    const duration = between(r, 150, 210) + stops * between(r, 60, 150);
    const offer: FlightOffer = {
      flight: `${code} ${between(r, 100, 999)}`,
      airline,
      departs: `${date}T${hhmm(dep)}`,
      arrives: `${dep + duration >= 24 * 60 ? addDays(date, 1) : date}T${hhmm(dep + duration)}`,
      durationMinutes: duration,
      stops,
      priceEur: passengers * between(r, 59, 320),
    };
    offers.push(offer);
    // One chunk per airline answered: the supervisor sees the offers arrive.
    await task.artifact({ name: 'offers', parts: [{ text: `${offer.flight} ${offer.departs.slice(11)} ${stops ? '1 stop' : 'nonstop'} €${offer.priceEur}${passengers > 1 ? ` for ${passengers}` : ''}\n` }], append: offers.length > 1, lastChunk: offers.length === AIRLINES.length });
  }
  offers.sort((a, b) => a.priceEur - b.priceEur);
  return { origin, destination, date, passengers, offers };
}

// --- hotel search ---------------------------------------------------------------------------------

export interface HotelQuery {
  city: string;
  checkIn: string;
  nights: number;
  guests?: number;
  maxPricePerNight?: number;
}
export interface HotelOffer {
  name: string;
  stars: number;
  rating: number;
  district: string;
  pricePerNightEur: number;
  totalEur: number;
}
export interface HotelResult {
  city: string;
  checkIn: string;
  checkOut: string;
  nights: number;
  hotels: HotelOffer[];
}

const HOTEL_WORDS = ['Grand', 'Casa', 'Harbour', 'Old Town', 'Garden', 'Riverside', 'Plaza', 'Boutique'] as const;
const HOTEL_KINDS = ['Hotel', 'Suites', 'Inn', 'Residence', 'Lodge'] as const;
const DISTRICTS = ['old town', 'city centre', 'waterfront', 'museum quarter', 'near the station'] as const;

async function searchHotels(task: TaskContext<HotelQuery>): Promise<HotelResult> {
  const { city, checkIn, nights } = task.input;
  const guests = task.input.guests ?? 1;
  const budget = task.input.maxPricePerNight;
  await task.status('TASK_STATE_WORKING', `checking availability in ${city}, ${nights} night(s) from ${checkIn}${budget ? `, up to €${budget}/night` : ''}`);
  const r = rng(`hotels|${city.toLowerCase()}|${checkIn}|${nights}|${guests}`);
  const all: HotelOffer[] = [];
  for (let i = 0; i < 6; i++) {
    const stars = between(r, 2, 5);
    const price = between(r, 45, 90) + stars * between(r, 15, 45) + (guests > 1 ? 20 : 0);
    all.push({
      name: `${pick(r, HOTEL_WORDS)} ${city} ${pick(r, HOTEL_KINDS)}`,
      stars,
      rating: Math.round((6.8 + r() * 3) * 10) / 10,
      district: pick(r, DISTRICTS),
      pricePerNightEur: price,
      totalEur: price * nights,
    });
  }
  await sleep(STEP_MS, task.signal);
  const hotels = all.filter((h) => budget === undefined || h.pricePerNightEur <= budget).sort((a, b) => b.rating - a.rating || a.pricePerNightEur - b.pricePerNightEur);
  await task.status('TASK_STATE_WORKING', `${all.length} hotels available, ${hotels.length} within budget; ranking by guest rating`);
  await task.artifact({ name: 'shortlist', parts: [{ text: hotels.slice(0, 3).map((h) => `${h.name} ${'★'.repeat(h.stars)} ${h.rating} €${h.pricePerNightEur}/night`).join('\n') }] });
  await sleep(STEP_MS, task.signal);
  return { city, checkIn, checkOut: addDays(checkIn, nights), nights, hotels };
}

// --- weather forecast -----------------------------------------------------------------------------

export interface WeatherQuery {
  city: string;
  startDate: string;
  days?: number;
}
export interface WeatherDay {
  date: string;
  summary: string;
  highC: number;
  lowC: number;
  rainChance: number;
}
export interface WeatherResult {
  city: string;
  days: WeatherDay[];
}

const SKIES = ['sunny', 'sunny', 'partly cloudy', 'cloudy', 'light showers', 'windy'] as const;

async function forecast(task: TaskContext<WeatherQuery>): Promise<WeatherResult> {
  const { city, startDate } = task.input;
  const n = task.input.days ?? 3;
  await task.status('TASK_STATE_WORKING', `running the ${n}-day forecast model for ${city}`);
  const r = rng(`weather|${city.toLowerCase()}|${startDate}`);
  const days: WeatherDay[] = [];
  for (let i = 0; i < n; i++) {
    await sleep(STEP_MS / 2, task.signal);
    const summary = pick(r, SKIES);
    const high = between(r, 17, 27);
    const day: WeatherDay = { date: addDays(startDate, i), summary, highC: high, lowC: high - between(r, 6, 10), rainChance: summary === 'light showers' ? between(r, 50, 80) : between(r, 0, 25) };
    days.push(day);
    await task.artifact({ name: 'forecast', parts: [{ data: day }], append: i > 0, lastChunk: i === n - 1 });
  }
  return { city, days };
}

// --- registration ---------------------------------------------------------------------------------

const date = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'ISO date, YYYY-MM-DD' } as const;

/** The three capability topics. */
export const TRAVEL_TOPICS = ['flight-search', 'hotel-search', 'weather-forecast'] as const;

/** Registers the three agents on `nameserver`; resolves once they are online. */
export async function startTravelAgents(nameserver: string, logger: Logger): Promise<Agent[]> {
  const common = { nameserver, logger, awaitDurationMs: 5000 };
  return Promise.all([
    registerAgent<FlightQuery, FlightResult>({
      ...common,
      name: 'Flight Search',
      topic: 'flight-search',
      description: 'Finds flights between two cities on a date for a number of passengers: airlines, departure and arrival times, stops and fares in EUR.',
      tags: ['travel', 'flights'],
      skills: [
        {
          name: 'Search flights',
          description: 'One-way flight offers for a trip, cheapest first',
          examples: ['find flights from Berlin to Lisbon on May 14', 'cheapest flight for a trip to Rome for 2 travellers'],
        },
      ],
      inputSchema: {
        type: 'object',
        properties: {
          origin: { type: 'string', description: 'departure city' },
          destination: { type: 'string', description: 'arrival city' },
          date: { ...date, description: 'departure date, YYYY-MM-DD' },
          passengers: { type: 'integer', minimum: 1, maximum: 9, description: 'number of travellers (default 1)' },
        },
        required: ['origin', 'destination', 'date'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: {
          offers: {
            type: 'array',
            items: { type: 'object', properties: { flight: { type: 'string' }, airline: { type: 'string' }, departs: { type: 'string' }, arrives: { type: 'string' }, stops: { type: 'integer' }, priceEur: { type: 'number' } } },
          },
        },
      },
      handler: searchFlights,
    }),
    registerAgent<HotelQuery, HotelResult>({
      ...common,
      name: 'Hotel Search',
      topic: 'hotel-search',
      description: 'Finds hotel rooms in a city for a stay: check-in date, number of nights and guests, optional budget per night; ranked by guest rating with prices in EUR.',
      tags: ['travel', 'hotels', 'accommodation'],
      skills: [
        {
          name: 'Search hotels',
          description: 'Available hotels for a stay within a nightly budget',
          examples: ['book a hotel in Lisbon for 3 nights', 'hotel for a trip under 180 EUR per night'],
        },
      ],
      inputSchema: {
        type: 'object',
        properties: {
          city: { type: 'string' },
          checkIn: { ...date, description: 'check-in date, YYYY-MM-DD' },
          nights: { type: 'integer', minimum: 1, maximum: 30 },
          guests: { type: 'integer', minimum: 1, maximum: 8, description: 'default 1' },
          maxPricePerNight: { type: 'number', minimum: 1, description: 'budget per night in EUR' },
        },
        required: ['city', 'checkIn', 'nights'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: {
          checkOut: { type: 'string' },
          hotels: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, stars: { type: 'integer' }, rating: { type: 'number' }, pricePerNightEur: { type: 'number' }, totalEur: { type: 'number' } } } },
        },
      },
      handler: searchHotels,
    }),
    registerAgent<WeatherQuery, WeatherResult>({
      ...common,
      name: 'Weather Forecast',
      topic: 'weather-forecast',
      description: 'Daily weather forecast for a city and dates: sky, high and low temperature in °C, chance of rain. Useful to plan a trip.',
      tags: ['travel', 'weather'],
      skills: [
        {
          name: 'Forecast weather',
          description: 'Day-by-day forecast for up to 14 days',
          examples: ['what will the weather be in Lisbon during my trip', 'forecast for Rome from May 14 for 3 days'],
        },
      ],
      inputSchema: {
        type: 'object',
        properties: {
          city: { type: 'string' },
          startDate: { ...date, description: 'first day, YYYY-MM-DD' },
          days: { type: 'integer', minimum: 1, maximum: 14, description: 'default 3' },
        },
        required: ['city', 'startDate'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: { days: { type: 'array', items: { type: 'object', properties: { date: { type: 'string' }, summary: { type: 'string' }, highC: { type: 'number' }, lowC: { type: 'number' }, rainChance: { type: 'number' } } } } },
      },
      handler: forecast,
    }),
  ]);
}

// --- standalone -----------------------------------------------------------------------------------

const USAGE = `Usage: node --import tsx examples/travel-planner/agents.ts --nameserver HOST:PORT [-v]

Serves the flight-search, hotel-search and weather-forecast agents until Ctrl-C.`;

async function serve(): Promise<void> {
  const { values } = parseFlags(USAGE, {});
  const nameserver = values.nameserver ?? '127.0.0.1:9876';
  const agents = await startTravelAgents(nameserver, exampleLogger('agents', values.verbose));
  console.log(`serving ${agents.map((a) => a.topic).join(', ')} on NameServer ${nameserver} (Ctrl-C to stop)`);
  const stop = async () => {
    await Promise.all(agents.map((a) => a.close()));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void serve();
