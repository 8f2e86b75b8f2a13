/**
 * Deterministic random inputs for the SendMessage codec tests (test/client/wire.test.ts,
 * test/broker/wire.test.ts): a seeded generator, text, lite topic names and SDK messages.
 */
import type { OutgoingMessage } from '../../client/producer/outgoing-message.js';

export type Rng = () => number;

/** Deterministic pseudo-random numbers in [0, 1) (xorshift32). */
export function rng(seed: number): Rng {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Characters of random text: ASCII, 2-, 3- and 4-byte UTF-8, and lone surrogates. */
export const ALPHABET: readonly string[] = ['a', 'Z', '0', '_', '-', ' ', 'é', 'ß', '中', '😀', '\ud800', '\udfff', '€', '~'];

/** ALPHABET without the lone surrogates: text that is well-formed UTF-16. */
export const WELL_FORMED_ALPHABET: readonly string[] = ALPHABET.filter((c) => c.length > 1 || (c.charCodeAt(0) & 0xf800) !== 0xd800);

/** 1..`max` characters of `alphabet` (of [a-cX-Z0-9_-] if `safe`), never only spaces. */
export function text(r: Rng, max: number, safe = false, alphabet: readonly string[] = ALPHABET): string {
  const n = 1 + Math.floor(r() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += safe ? 'abcXYZ019_-'[Math.floor(r() * 11)] : alphabet[Math.floor(r() * alphabet.length)];
  return s.trim() === '' ? `x${s}` : s;
}

/** A valid lite topic name of 1..64 characters. */
export function liteName(r: Rng): string {
  const chars = 'abcXYZ019_.:-';
  const n = 1 + Math.floor(r() * 64);
  let s = '';
  for (let i = 0; i < n; i++) s += chars[Math.floor(r() * chars.length)];
  return s;
}

/** An SDK message with a random selection of every option; its text drawn from `alphabet`. */
export function randomMessage(r: Rng, alphabet: readonly string[] = ALPHABET): OutgoingMessage {
  const t = (max: number): string => text(r, max, false, alphabet);
  const msg: OutgoingMessage = { topic: text(r, 40, true), body: Buffer.alloc(1 + Math.floor(r() * 3000), Math.floor(r() * 256)) };
  if (r() < 0.5) msg.tag = t(20).replace(/\|/g, '');
  if (r() < 0.5) msg.keys = Array.from({ length: Math.floor(r() * 4) }, () => t(30));
  if (r() < 0.5) msg.properties = Object.fromEntries(Array.from({ length: Math.floor(r() * 5) }, (_, i) => [`${t(10)}${i}`, r() < 0.2 ? '' : t(50)]));
  const kind = r();
  if (kind < 0.2) msg.messageGroup = t(60);
  else if (kind < 0.4) msg.priority = Math.floor(r() * 10);
  else if (kind < 0.6) msg.liteTopic = liteName(r);
  if (r() < 0.3) msg.deliveryTimestampMs = Math.floor(r() * 2 ** 45);
  if (r() < 0.2) msg.ttlMs = 1 + Math.floor(r() * 1e9);
  if (r() < 0.2) msg.dedupKey = t(100);
  return msg;
}
