/**
 * The supervisor's planner, in the OpenAI Chat Completions message format so both planners drive
 * the same loop: given the conversation so far and the tools (the discovered capabilities,
 * rendered by `tools(..., { provider: 'openai-chat' })`), answer with tool calls or a final text.
 *
 * - `LlmPlanner`: any OpenAI-compatible endpoint (OpenAI, Azure-style proxies, Ollama, vLLM,
 *   LM Studio, ...) over plain fetch: POST {OPENAI_BASE_URL}/chat/completions.
 * - `ScriptedPlanner`: deterministic, no network. It reads the trip out of the goal with regular
 *   expressions, picks the tools by their descriptions, and writes the answer from the results.
 */
import type { OpenAIChatTool } from '../../client/index.js';
import type { FlightResult, HotelResult, WeatherResult } from './agents.js';

export interface ToolCallMessage {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCallMessage[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

export interface Planner {
  /** Printed before planning. */
  readonly label: string;
  /**
   * The next assistant turn: tool calls to run, or the final answer (no tool calls). `final`: the
   * last round allowed, the planner must answer now.
   */
  next(messages: ChatMessage[], tools: OpenAIChatTool[], options?: { final?: boolean }): Promise<AssistantMessage>;
}

export const SYSTEM_PROMPT = `You are a travel-planning supervisor. You cannot look anything up yourself: use the tools, each of which is a live agent. Call every tool the trip needs (you may call several at once), then answer the user with one concise plan: the flight, the hotel, the weather, and the total cost in EUR. Use ISO dates (YYYY-MM-DD).`;

// --- LLM ------------------------------------------------------------------------------------------

export interface LlmConfig {
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  timeoutMs: number;
}

/** The LLM configuration from the environment, or undefined when neither OPENAI_BASE_URL nor OPENAI_API_KEY is set. */
export function llmConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LlmConfig | undefined {
  const baseUrl = env.OPENAI_BASE_URL?.trim();
  const apiKey = env.OPENAI_API_KEY?.trim();
  if (!baseUrl && !apiKey) return undefined;
  return {
    baseUrl: (baseUrl || 'https://api.openai.com/v1').replace(/\/+$/, ''),
    apiKey: apiKey || undefined,
    model: env.OPENAI_MODEL?.trim() || 'gpt-4o-mini',
    timeoutMs: Number(env.OPENAI_TIMEOUT_MS) > 0 ? Number(env.OPENAI_TIMEOUT_MS) : 60_000,
  };
}

interface ChatCompletion {
  choices?: { message?: { content?: string | null; tool_calls?: ToolCallMessage[] } }[];
}

export class LlmPlanner implements Planner {
  readonly label: string;

  constructor(private readonly config: LlmConfig) {
    this.label = `LLM planner: ${config.model} at ${config.baseUrl}`;
  }

  async next(messages: ChatMessage[], tools: OpenAIChatTool[], options: { final?: boolean } = {}): Promise<AssistantMessage> {
    const url = `${this.config.baseUrl}/chat/completions`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}) },
      body: JSON.stringify({ model: this.config.model, messages, tools, tool_choice: options.final ? 'none' : 'auto', temperature: 0 }),
      signal: AbortSignal.timeout(this.config.timeoutMs),
    }).catch((err: unknown) => {
      const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
      throw new Error(`POST ${url} failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST ${url} answered ${res.status} ${res.statusText}: ${text.slice(0, 500)}`);
    let body: ChatCompletion;
    try {
      body = JSON.parse(text) as ChatCompletion;
    } catch {
      throw new Error(`POST ${url} answered something that is not JSON: ${text.slice(0, 200)}`);
    }
    const message = body.choices?.[0]?.message;
    if (!message) throw new Error(`POST ${url} answered without choices[0].message: ${text.slice(0, 500)}`);
    const toolCalls = (message.tool_calls ?? []).map((c, i) => ({
      id: c.id || `call_${i}`,
      type: 'function' as const,
      function: { name: c.function?.name ?? '', arguments: typeof c.function?.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function?.arguments ?? {}) },
    }));
    return toolCalls.length > 0 ? { role: 'assistant', content: message.content ?? null, tool_calls: toolCalls } : { role: 'assistant', content: message.content ?? '' };
  }
}

// --- scripted -------------------------------------------------------------------------------------

export interface Trip {
  origin: string;
  destination: string;
  date: string;
  nights: number;
  travellers: number;
  budgetPerNight: number | undefined;
}

/** The trip a goal describes (what the scripted planner understands; defaults for the rest). */
export function parseTrip(goal: string): Trip {
  const city = '([A-Z][\\p{L}-]+(?: [A-Z][\\p{L}-]+)*)';
  const route = new RegExp(`from ${city} to ${city}`, 'u').exec(goal);
  const nights = /(\d+)[- ]nights?/i.exec(goal);
  const travellers = /(\d+) (?:travell?ers?|people|persons?|adults?|guests?|passengers?)\b/i.exec(goal);
  const budget = /(?:budget|under|max(?:imum)?|up to)\D{0,20}(\d+)\s*(?:€|EUR|euros?)?(?:\s*(?:per|a|\/)\s*night)?/i.exec(goal);
  return {
    origin: route?.[1] ?? 'Berlin',
    destination: route?.[2] ?? 'Lisbon',
    date: /(\d{4}-\d{2}-\d{2})/.exec(goal)?.[1] ?? '2026-05-14',
    nights: nights ? Number(nights[1]) : 3,
    travellers: travellers ? Number(travellers[1]) : 1,
    budgetPerNight: budget ? Number(budget[1]) : undefined,
  };
}

type Role = 'flights' | 'hotels' | 'weather';
const ROLE_PATTERNS: [Role, RegExp][] = [
  ['flights', /\bflights?\b/i],
  ['hotels', /\bhotels?\b|accommodation/i],
  ['weather', /\bweather\b|forecast/i],
];

/** What each tool is for, by its description (the first tool matching a role takes it). */
function rolesOf(tools: OpenAIChatTool[]): Map<string, Role> {
  const out = new Map<string, Role>();
  const taken = new Set<Role>();
  for (const t of tools) {
    const text = `${t.function.name} ${t.function.description ?? ''}`;
    const role = ROLE_PATTERNS.find(([r, re]) => !taken.has(r) && re.test(text))?.[0];
    if (!role) continue;
    taken.add(role);
    out.set(t.function.name, role);
  }
  return out;
}

function argsFor(role: Role, trip: Trip): Record<string, unknown> {
  switch (role) {
    case 'flights':
      return { origin: trip.origin, destination: trip.destination, date: trip.date, passengers: trip.travellers };
    case 'hotels':
      return { city: trip.destination, checkIn: trip.date, nights: trip.nights, guests: trip.travellers, ...(trip.budgetPerNight ? { maxPricePerNight: trip.budgetPerNight } : {}) };
    case 'weather':
      return { city: trip.destination, startDate: trip.date, days: trip.nights + 1 };
  }
}

export class ScriptedPlanner implements Planner {
  readonly label = 'scripted planner — set OPENAI_BASE_URL/OPENAI_API_KEY to plan with an LLM';

  async next(messages: ChatMessage[], tools: OpenAIChatTool[]): Promise<AssistantMessage> {
    const goal = messages.find((m) => m.role === 'user')?.content ?? '';
    const trip = parseTrip(goal);
    const asked = messages.flatMap((m) => (m.role === 'assistant' ? (m.tool_calls ?? []) : []));
    if (asked.length === 0) {
      // Round 1: one call per role a tool covers, all at once.
      const roles = rolesOf(tools);
      const calls: ToolCallMessage[] = [...roles].map(([name, role], i) => ({ id: `call_${i + 1}`, type: 'function', function: { name, arguments: JSON.stringify(argsFor(role, trip)) } }));
      if (calls.length > 0) return { role: 'assistant', content: null, tool_calls: calls };
      return { role: 'assistant', content: 'No discovered agent can search flights, hotels or the weather, so there is no plan.' };
    }
    // Round 2: the answer, from the tool results.
    const roles = rolesOf(tools);
    const results = new Map<Role, unknown>();
    for (const m of messages) {
      if (m.role !== 'tool') continue;
      const call = asked.find((c) => c.id === m.tool_call_id);
      const role = call && roles.get(call.function.name);
      if (role) results.set(role, JSON.parse(m.content) as unknown);
    }
    return { role: 'assistant', content: summarize(trip, results) };
  }
}

const failed = (v: unknown): string | undefined => (typeof v === 'object' && v !== null && 'error' in v ? String((v as { error: unknown }).error) : undefined);

/** The aggregated answer of the scripted planner. */
export function summarize(trip: Trip, results: Map<Role, unknown>): string {
  const lines = [`Trip: ${trip.origin} → ${trip.destination}, ${trip.date}, ${trip.nights} night(s), ${trip.travellers} traveller(s)${trip.budgetPerNight ? `, hotel budget €${trip.budgetPerNight}/night` : ''}`];
  let total = 0;
  const flights = results.get('flights') as FlightResult | undefined;
  const flight = flights?.offers?.[0];
  if (failed(flights)) lines.push(`Flight: not available (${failed(flights)})`);
  else if (flight) {
    total += flight.priceEur;
    lines.push(`Flight: ${flight.flight} (${flight.airline}) ${flight.departs.replace('T', ' ')} → ${flight.arrives.slice(11)}, ${flight.stops ? `${flight.stops} stop` : 'nonstop'}, €${flight.priceEur}${flights!.passengers > 1 ? ` for ${flights!.passengers}` : ''} — cheapest of ${flights!.offers.length}`);
  } else lines.push('Flight: no flight agent was found');
  const hotels = results.get('hotels') as HotelResult | undefined;
  const hotel = hotels?.hotels?.[0];
  if (failed(hotels)) lines.push(`Hotel: not available (${failed(hotels)})`);
  else if (hotel) {
    total += hotel.totalEur;
    lines.push(`Hotel: ${hotel.name}, ${hotel.stars}★, rated ${hotel.rating}, ${hotel.district}, €${hotel.pricePerNightEur}/night × ${hotels!.nights} = €${hotel.totalEur} (check-out ${hotels!.checkOut})`);
  } else lines.push(hotels ? 'Hotel: nothing within the budget' : 'Hotel: no hotel agent was found');
  const weather = results.get('weather') as WeatherResult | undefined;
  if (failed(weather)) lines.push(`Weather: not available (${failed(weather)})`);
  else if (weather?.days?.length) {
    const rainy = weather.days.filter((d) => d.rainChance >= 50).map((d) => d.date);
    lines.push(`Weather: ${weather.days.map((d) => `${d.date.slice(5)} ${d.summary} ${d.lowC}–${d.highC}°C`).join('; ')}`);
    lines.push(rainy.length ? `         pack an umbrella for ${rainy.join(', ')}` : '         no rain expected');
  } else lines.push('Weather: no forecast agent was found');
  lines.push(`Total: €${total} (flight${trip.travellers > 1 ? 's' : ''} + hotel)`);
  return lines.join('\n');
}
