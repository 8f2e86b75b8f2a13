/**
 * prepareMessage: the broker's rules applied before sending (same codes), message types, body
 * conversions and the batch byte estimate.
 */
import { describe, expect, it } from 'vitest';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';
import { prepareMessage } from '../../client/producer/outgoing-message.js';
import type { OutgoingMessage } from '../../client/producer/outgoing-message.js';

function codeOf(msg: OutgoingMessage, maxBodySize?: number): string {
  try {
    prepareMessage(msg, maxBodySize);
  } catch (err) {
    expect(err).toBeInstanceOf(MqError);
    return (err as MqError).code;
  }
  return 'OK';
}

describe('prepareMessage', () => {
  it('stamps id, type NORMAL, born time and host, and keeps the fields', () => {
    const p = prepareMessage(
      { topic: 'orders', body: 'héllo', tag: 'created', keys: ['k1'], properties: { a: 'b' } },
      undefined,
      1_700_000_000_123,
    );
    expect(p.messageId).toMatch(/^01[0-9A-F]{32}$/);
    expect(p.messageType).toBe('NORMAL');
    expect(p.bornTimestampMs).toBe(1_700_000_000_123);
    expect(p.bornHost).not.toBe('');
    expect(p.body.toString('utf8')).toBe('héllo');
    expect(p.tag).toBe('created');
    expect(p.keys).toEqual(['k1']);
    expect(p.properties).toEqual({ a: 'b' });
    expect(p.bytes).toBeGreaterThan(p.body.length);
  });

  it('derives FIFO, DELAY and PRIORITY from the fields', () => {
    expect(prepareMessage({ topic: 't', body: 'x', messageGroup: 'g' }).messageType).toBe('FIFO');
    expect(prepareMessage({ topic: 't', body: 'x', deliveryTimestampMs: Date.now() + 1000 }).messageType).toBe('DELAY');
    expect(prepareMessage({ topic: 't', body: 'x', priority: 3 }).messageType).toBe('PRIORITY');
  });

  it('accepts Buffer and Uint8Array bodies without copying the bytes', () => {
    const buf = Buffer.from('abc');
    expect(prepareMessage({ topic: 't', body: buf }).body).toBe(buf);
    const backing = new Uint8Array([0, 1, 2, 3, 4]);
    const view = backing.subarray(1, 4);
    const body = prepareMessage({ topic: 't', body: view }).body;
    expect([...body]).toEqual([1, 2, 3]);
    expect(body.buffer).toBe(backing.buffer);
  });

  it('fails with the codes the broker would use', () => {
    expect(codeOf({ topic: '', body: 'x' })).toBe(Code.ILLEGAL_TOPIC);
    expect(codeOf({ topic: 'bad topic', body: 'x' })).toBe(Code.ILLEGAL_TOPIC);
    expect(codeOf({ topic: 'a'.repeat(128), body: 'x' })).toBe(Code.ILLEGAL_TOPIC);
    expect(codeOf({ topic: 't', body: '' })).toBe(Code.MESSAGE_BODY_EMPTY);
    expect(codeOf({ topic: 't', body: Buffer.alloc(0) })).toBe(Code.MESSAGE_BODY_EMPTY);
    expect(codeOf({ topic: 't', body: 'x'.repeat(11) }, 10)).toBe(Code.MESSAGE_BODY_TOO_LARGE);
    expect(codeOf({ topic: 't', body: 'x', tag: 'a|b' })).toBe(Code.ILLEGAL_MESSAGE_TAG);
    expect(codeOf({ topic: 't', body: 'x', tag: '  ' })).toBe(Code.ILLEGAL_MESSAGE_TAG);
    expect(codeOf({ topic: 't', body: 'x', keys: [' '] })).toBe(Code.ILLEGAL_MESSAGE_KEY);
    expect(codeOf({ topic: 't', body: 'x', messageGroup: '' })).toBe(Code.ILLEGAL_MESSAGE_GROUP);
    expect(codeOf({ topic: 't', body: 'x', messageGroup: 'g'.repeat(129) })).toBe(Code.ILLEGAL_MESSAGE_GROUP);
    expect(codeOf({ topic: 't', body: 'x', properties: { '': 'v' } })).toBe(Code.ILLEGAL_MESSAGE_PROPERTY_KEY);
    expect(codeOf({ topic: 't', body: 'x', properties: { k: 'v'.repeat(17 * 1024) } })).toBe(Code.MESSAGE_PROPERTIES_TOO_LARGE);
    expect(codeOf({ topic: 't', body: 'x', deliveryTimestampMs: -1 })).toBe(Code.ILLEGAL_DELIVERY_TIME);
    expect(codeOf({ topic: 't', body: 'x', priority: 1.5 })).toBe(Code.BAD_REQUEST);
    expect(codeOf({ topic: 't', body: 'x', messageGroup: 'g', priority: 1 })).toBe(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE);
    expect(codeOf({ topic: 't', body: 42 as unknown as string })).toBe(Code.BAD_REQUEST);
  });

  it('names the offending field in the error', () => {
    expect(() => prepareMessage({ topic: 't', body: 'x', tag: 'a|b' })).toThrow(/^tag /);
    try {
      prepareMessage({ topic: 'no spaces', body: 'x' });
    } catch (err) {
      expect((err as MqError).context.field).toBe('topic');
    }
  });
});
