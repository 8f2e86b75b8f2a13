/**
 * Client-generated message ids: v1 layout (34 upper-case hex chars), uniqueness, decoding.
 */
import { describe, expect, it } from 'vitest';
import { createMessageId, decodeMessageId } from '../../client/producer/message-id.js';

describe('message ids', () => {
  it('are 34 upper-case hex characters starting with version 01', () => {
    const id = createMessageId();
    expect(id).toMatch(/^01[0-9A-F]{32}$/);
  });

  it('are unique across a burst', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 200_000; i++) ids.add(createMessageId());
    expect(ids.size).toBe(200_000);
  });

  it('decode back to version, pid, time and a sequence that counts up', () => {
    const now = Date.UTC(2026, 10, 21, 10, 0, 0);
    const a = decodeMessageId(createMessageId(now))!;
    const b = decodeMessageId(createMessageId(now))!;
    expect(a.version).toBe(1);
    expect(a.pid).toBe(process.pid & 0xffff);
    expect(a.timestampMs).toBe(now);
    expect(a.host).toMatch(/^[0-9A-F]{12}$/);
    expect(b.host).toBe(a.host);
    expect(b.sequence).toBe((a.sequence + 1) >>> 0);
  });

  it('rejects strings that are not v1 ids', () => {
    expect(decodeMessageId('xyz')).toBeUndefined();
    expect(decodeMessageId('01' + '0'.repeat(31))).toBeUndefined();
  });
});
