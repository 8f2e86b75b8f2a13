/**
 * Delayed delivery (delivery_timestamp) and RecallMessage: a delayed message is not receivable
 * before its time, arrives soon after it (waking parked long polls), can be withdrawn before it
 * is due, and survives a restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attemptOf, idOf } from '../../helpers/broker-fixture.js';
import { FeatureBroker, sleep } from '../../helpers/feature-harness.js';

/** Scheduling slack: a delayed message must arrive within this after its time. */
const LATE_MS = 700;

describe('features - delayed delivery and recall', () => {
  let fb: FeatureBroker;

  beforeEach(async () => {
    fb = await new FeatureBroker().start();
  });

  afterEach(async () => {
    await fb.dispose();
  });

  it('delay - a DELAY message on a NORMAL topic is invisible before its time and delivered soon after', async () => {
    await fb.createTopic('d-normal', 'NORMAL', 2);
    const sentAt = Date.now();
    const due = sentAt + 600;
    const entry = await fb.sendOne('d-normal', 'delayed-1', { deliverAt: due });
    expect(entry.status?.code).toBe('OK');
    expect(entry.messageId).toBe('delayed-1');
    expect(entry.offset).toBe(-1);
    expect(entry.recallHandle).not.toBe('');

    await sleep(Math.max(0, sentAt + 300 - Date.now()));
    await fb.expectNothing({ topic: 'd-normal', group: 'g' });

    const { msgs, at } = await fb.receiveUntil({ topic: 'd-normal', group: 'g' }, 1, 3000);
    expect(msgs.map(idOf)).toEqual(['delayed-1']);
    expect(at.get('delayed-1')!).toBeGreaterThanOrEqual(due - 20);
    expect(at.get('delayed-1')!).toBeLessThan(due + LATE_MS + 300);
    expect(attemptOf(msgs[0]!)).toBe(1);
    expect(msgs[0]!.body.toString()).toBe('body-delayed-1');
    expect(msgs[0]!.systemProperties!.messageType).toBe('DELAY');
    // The delivery time travels with the message.
    const ts = msgs[0]!.systemProperties!.deliveryTimestamp!;
    expect(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)).toBe(due);
    await fb.ackAll('d-normal', 'g', msgs);
    await fb.expectNothing({ topic: 'd-normal', group: 'g' });
  });

  it('delay - a DELAY topic accepts delayed messages; a long poll parked before the message is due is woken when it becomes due', async () => {
    await fb.createTopic('d-delay', 'DELAY', 1);
    const due = Date.now() + 600;
    await fb.sendOne('d-delay', 'wake-1', { deliverAt: due });
    const asked = Date.now();
    const r = await fb.receive({ topic: 'd-delay', group: 'g', pollMs: 5000 });
    const got = Date.now();
    expect(r.code).toBe('OK');
    expect(r.messages.map(idOf)).toEqual(['wake-1']);
    // One parked call, answered at the due time (not at the end of the 5 s poll).
    expect(asked).toBeLessThan(due);
    expect(got).toBeGreaterThanOrEqual(due - 20);
    expect(got).toBeLessThan(due + LATE_MS);
  });

  it('delay - RecallMessage before the due time answers OK with the message id; the message never arrives and is gone from lookup', async () => {
    await fb.createTopic('d-recall', 'NORMAL', 1);
    const due = Date.now() + 400;
    const keep = await fb.sendOne('d-recall', 'keep', { deliverAt: due });
    const drop = await fb.sendOne('d-recall', 'drop', { deliverAt: due });
    expect(keep.recallHandle).not.toBe(drop.recallHandle);

    const r = await fb.recall('d-recall', drop.recallHandle);
    expect(r.code, r.message).toBe('OK');
    expect(r.messageId).toBe('drop');
    expect((await fb.getMessage('drop')).code).toBe('MESSAGE_NOT_FOUND');
    // Recalling twice: already gone.
    expect((await fb.recall('d-recall', drop.recallHandle)).code).toBe('NOT_FOUND');

    const { msgs } = await fb.receiveUntil({ topic: 'd-recall', group: 'g' }, 2, due + 800 - Date.now());
    expect(msgs.map(idOf)).toEqual(['keep']);
    expect(await fb.messageCount('d-recall')).toBe(1);
  });

  it('delay - recall after delivery is NOT_FOUND; a forged, mangled or other-topic recall handle is BAD_REQUEST', async () => {
    await fb.createTopic('d-late', 'NORMAL', 1);
    await fb.createTopic('d-other', 'NORMAL', 1);
    const due = Date.now() + 200;
    const sent = await fb.sendOne('d-late', 'late', { deliverAt: due });
    const pending = await fb.sendOne('d-late', 'pending', { deliverAt: Date.now() + 60_000 });

    // Another topic's name with a genuine handle: not issued for that topic.
    const other = await fb.recall('d-other', pending.recallHandle);
    expect(other.code, other.message).toBe('BAD_REQUEST');
    // Forged: right shape, wrong MAC.
    const raw = Buffer.from(pending.recallHandle, 'base64url');
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 0xff;
    expect((await fb.recall('d-late', raw.toString('base64url'))).code).toBe('BAD_REQUEST');
    // Mangled and empty.
    expect((await fb.recall('d-late', 'not-a-handle')).code).toBe('BAD_REQUEST');
    expect((await fb.recall('d-late', '')).code).toBe('BAD_REQUEST');
    expect((await fb.recall('d-late', `${pending.recallHandle}AA`)).code).toBe('BAD_REQUEST');
    // None of that touched the pending message.
    expect((await fb.getMessage('pending')).message?.state).toBe('scheduled');

    const { msgs } = await fb.receiveUntil({ topic: 'd-late', group: 'g' }, 1, 3000);
    expect(msgs.map(idOf)).toEqual(['late']);
    const late = await fb.recall('d-late', sent.recallHandle);
    expect(late.code, late.message).toBe('NOT_FOUND');
    // Still delivered exactly once and stored.
    expect((await fb.getMessage('late')).message?.state).toBe('stored');

    // The far-future one can still be recalled.
    expect((await fb.recall('d-late', pending.recallHandle)).code).toBe('OK');
  });

  it('delay - GetMessage on a scheduled message reports state "scheduled" with its delivery time; after delivery "stored"', async () => {
    await fb.createTopic('d-get', 'NORMAL', 1);
    const due = Date.now() + 500;
    await fb.sendOne('d-get', 'sched', { deliverAt: due, tag: 'T1', keys: ['k-sched'], props: { a: '1' } });
    const before = await fb.getMessage('sched', true);
    expect(before.code).toBe('OK');
    expect(before.message?.state).toBe('scheduled');
    expect(before.message?.topic).toBe('d-get');
    expect(before.message?.offset).toBe(-1);
    expect(before.message?.deliveryTimestampMs).toBe(due);
    expect(before.message?.tag).toBe('T1');
    expect(before.message?.keys).toEqual(['k-sched']);
    expect(before.message?.properties).toEqual({ a: '1' });
    expect(before.message?.body.toString()).toBe('body-sched');

    const { msgs } = await fb.receiveUntil({ topic: 'd-get', group: 'g' }, 1, 3000);
    expect(msgs.map(idOf)).toEqual(['sched']);
    const after = await fb.getMessage('sched');
    expect(after.message?.state).toBe('stored');
    expect(after.message?.offset).toBe(0);
    expect(after.message?.groups.map((g) => [g.group, g.state])).toEqual([['g', 'inflight']]);
  });

  it('delay - a delay in the past (or now) is delivered at once with a real offset', async () => {
    await fb.createTopic('d-past', 'NORMAL', 1);
    const e = await fb.sendOne('d-past', 'past', { deliverAt: Date.now() - 5000 });
    expect(e.offset).toBe(0);
    const r = await fb.receive({ topic: 'd-past', group: 'g' });
    expect(r.messages.map(idOf)).toEqual(['past']);
  });

  it('delay - many delays with different times are delivered in time order, none early', async () => {
    await fb.createTopic('d-many', 'NORMAL', 2);
    const base = Date.now() + 300;
    // Sent in a shuffled order, 80 ms apart in time.
    const slots = [5, 0, 9, 3, 7, 1, 8, 2, 6, 4];
    const dueOf = new Map<string, number>();
    for (const s of slots) {
      const id = `m-${s}`;
      dueOf.set(id, base + s * 80);
      await fb.sendOne('d-many', id, { deliverAt: base + s * 80 });
    }
    // Plus one batch: three messages with different times in one SendMessage.
    const entries = await fb.sendOk(
      [12, 10, 11].map((s) => {
        dueOf.set(`m-${s}`, base + s * 80);
        return { topic: { name: 'd-many' }, body: Buffer.from('x'), systemProperties: { messageId: `m-${s}`, messageType: 'DELAY' as const, deliveryTimestamp: { seconds: Math.floor((base + s * 80) / 1000), nanos: ((base + s * 80) % 1000) * 1e6 } } };
      }),
    );
    expect(entries.every((e) => e.offset === -1 && e.recallHandle !== '')).toBe(true);

    const { msgs, at, batch } = await fb.receiveUntil({ topic: 'd-many', group: 'g', pollMs: 1500 }, 13, 5000);
    expect(msgs).toHaveLength(13);
    for (const m of msgs) expect(at.get(idOf(m))!, idOf(m)).toBeGreaterThanOrEqual(dueOf.get(idOf(m))! - 20);
    // In time order: a message due later never arrives in an earlier receive than one due before it.
    const byDue = [...dueOf.keys()].sort((a, b) => dueOf.get(a)! - dueOf.get(b)!);
    for (let i = 1; i < byDue.length; i++) expect(batch.get(byDue[i]!)!, `${byDue[i - 1]} before ${byDue[i]}`).toBeGreaterThanOrEqual(batch.get(byDue[i - 1]!)!);
    // And not much late.
    const last = byDue[byDue.length - 1]!;
    expect(at.get(last)!).toBeLessThan(dueOf.get(last)! + LATE_MS);
  });

  it('delay - a delayed message survives a restart: close before it is due, reopen, delivered at about its time', async () => {
    await fb.createTopic('d-restart', 'NORMAL', 2);
    const due = Date.now() + 1200;
    const recalled = await fb.sendOne('d-restart', 'recalled-after-restart', { deliverAt: due });
    await fb.sendOne('d-restart', 'survivor', { deliverAt: due });
    await fb.restart(200);
    expect(Date.now()).toBeLessThan(due);

    // Still scheduled, still recallable with the handle issued before the restart.
    expect((await fb.getMessage('survivor')).message?.state).toBe('scheduled');
    expect((await fb.getMessage('recalled-after-restart')).message?.state).toBe('scheduled');
    expect((await fb.recall('d-restart', recalled.recallHandle)).code).toBe('OK');
    await fb.expectNothing({ topic: 'd-restart', group: 'g' });
    const { msgs, at } = await fb.receiveUntil({ topic: 'd-restart', group: 'g', pollMs: 3000 }, 1, 4000);
    expect(msgs.map(idOf)).toEqual(['survivor']);
    expect(at.get('survivor')!).toBeGreaterThanOrEqual(due - 20);
    expect(at.get('survivor')!).toBeLessThan(due + LATE_MS);
    await fb.expectNothing({ topic: 'd-restart', group: 'g', pollMs: 300 });
  });

  it('delay - a message that fell due while the broker was down is delivered right after the restart', async () => {
    await fb.createTopic('d-down', 'NORMAL', 1);
    const due = Date.now() + 300;
    await fb.sendOne('d-down', 'overdue', { deliverAt: due });
    await fb.restart(Math.max(0, due + 200 - Date.now()));
    const { msgs } = await fb.receiveUntil({ topic: 'd-down', group: 'g', pollMs: 1000 }, 1, 2000);
    expect(msgs.map(idOf)).toEqual(['overdue']);
  });
});
