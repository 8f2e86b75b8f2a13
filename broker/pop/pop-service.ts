/**
 * POP-style consumption: receive (with invisibility), ack, change invisibility, redelivery.
 *
 * State per (topic, group, queue), all in memory and persisted through the store's WriteQueue:
 *   cursor    next offset never handed to this group       -> 'C' key
 *   inflight  offset -> {visibleAt, attempt, token}          -> 'I' keys
 *   due       min-heap of (visibleAt, offset, token) for redelivery; entries may be stale
 * Invariant (see keys.ts): an offset below the cursor with no in-flight record is acknowledged,
 * so a restart recovers exactly: everything unacked is either in-flight (redelivered when its
 * invisibility ends, attempt counted) or at/after the cursor.
 *
 * Redelivery is driven by one timer, reset to the earliest visibility deadline of all groups; it
 * signals the LongPolling of the topic/group, which wakes a parked receive. No polling loop.
 *
 * Concurrency: Node is single-threaded, so every state change is made synchronously before the
 * first `await` of an operation (claim, then read and persist). Two receives racing on the same
 * queue can never claim the same offset.
 */
import { randomInt } from 'node:crypto';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';
import type { Clock } from '../../proto/common/time.js';
import type { Logger } from '../../proto/common/logger.js';
import type { MessageStore, StoredMessage } from '../store/message-store.js';
import type { BatchOp } from '../store/rocks.js';
import { decodeConsumerKey, encodeU64, decodeU64, cursorKey, inflightKey, prefixEnd, P_CURSOR, P_INFLIGHT, type ConsumerKey } from '../store/keys.js';
import { decodeInflight, encodeInflight, type InflightRecord } from '../store/codec.js';
import { DeadlineHeap } from './deadline-heap.js';
import type { LongPolling } from './long-polling.js';
import type { ReceiptHandleCodec } from './receipt-handle.js';
import type { TagFilter } from '../consumer/filter.js';

type Offset = number;

interface Due {
  at: number;
  offset: Offset;
  token: number;
}

interface QueueConsumer {
  topic: string;
  group: string;
  queueId: number;
  cursor: Offset;
  inflight: Map<Offset, InflightRecord>;
  due: DeadlineHeap<Due>;
}

export interface Delivery {
  message: StoredMessage;
  attempt: number;
  receiptHandle: string;
  /** When the message becomes visible again if not acked. */
  visibleAt: number;
}

export interface PopRequest {
  topic: string;
  group: string;
  filter: TagFilter;
  maxMessages: number;
  invisibleMs: number;
}

interface GlobalDue {
  at: number;
  topic: string;
  group: string;
}

export class PopService {
  /** key: topic \0 group -> one state per queue */
  private readonly consumers = new Map<string, QueueConsumer[]>();
  private readonly globalDue = new DeadlineHeap<GlobalDue>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** Round-robin start queue per topic\0group, so one busy queue does not starve the others. */
  private readonly rr = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly store: MessageStore,
    private readonly longPolling: LongPolling,
    private readonly handles: ReceiptHandleCodec,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Recovers cursors and in-flight records after a restart. */
  async load(): Promise<void> {
    let cursors = 0;
    let inflight = 0;
    for (const kind of [P_CURSOR, P_INFLIGHT] as const) {
      const prefix = Buffer.from([kind]);
      for await (const [key, value] of this.store.db.range({ gte: prefix, lt: prefixEnd(prefix) })) {
        const k: ConsumerKey = decodeConsumerKey(key);
        if (this.store.queueCount(k.topic) <= k.queueId) continue; // topic deleted meanwhile
        const qc = this.queueConsumer(k.topic, k.group, k.queueId);
        if (kind === P_CURSOR) {
          qc.cursor = decodeU64(value);
          cursors++;
        } else if (k.offset !== undefined) {
          const rec = decodeInflight(value);
          qc.inflight.set(k.offset, rec);
          this.schedule(qc, k.offset, rec);
          inflight++;
        }
      }
    }
    this.logger.info('consumer state recovered', { cursors, inflight });
  }

  private consumersOf(topic: string, group: string): QueueConsumer[] {
    const key = `${topic}\0${group}`;
    let list = this.consumers.get(key);
    if (!list) {
      list = [];
      this.consumers.set(key, list);
    }
    const want = this.store.queueCount(topic);
    for (let q = list.length; q < want; q++) {
      // A group new to a queue starts at the oldest stored message.
      list.push({ topic, group, queueId: q, cursor: this.store.offsets(topic, q).min, inflight: new Map(), due: new DeadlineHeap() });
    }
    return list;
  }

  private queueConsumer(topic: string, group: string, queueId: number): QueueConsumer {
    const qc = this.consumersOf(topic, group)[queueId];
    if (!qc) throw new Error(`no queue ${topic}/${queueId}`);
    return qc;
  }

  private newToken(): number {
    return randomInt(0, 0xffffffff);
  }

  private schedule(qc: QueueConsumer, offset: Offset, rec: InflightRecord): void {
    qc.due.push({ at: rec.visibleAt, offset, token: rec.token });
    this.globalDue.push({ at: rec.visibleAt, topic: qc.topic, group: qc.group });
    this.armTimer();
  }

  /** Keeps exactly one timer, set to the earliest redelivery deadline. */
  private armTimer(): void {
    if (this.closed) return;
    const next = this.globalDue.peek();
    if (!next || next.at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, next.at - this.clock.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    // One wake-up per message now due (per topic/group), so that as many parked receivers wake
    // as there are messages to take; stale entries at worst cause a receiver to re-park.
    const due = new Map<string, { topic: string; group: string; count: number }>();
    for (let d = this.globalDue.peek(); d && d.at <= now; d = this.globalDue.peek()) {
      this.globalDue.pop();
      const key = `${d.topic}\0${d.group}`;
      const e = due.get(key);
      if (e) e.count++;
      else due.set(key, { topic: d.topic, group: d.group, count: 1 });
    }
    for (const e of due.values()) this.longPolling.signal(e.topic, e.count, e.group);
    this.armTimer();
  }

  /**
   * Hands out up to `maxMessages` deliverable messages of `topic` to `group`: first messages
   * whose invisibility expired (redeliveries, attempt + 1), then new ones in offset order.
   */
  async pop(req: PopRequest): Promise<Delivery[]> {
    const now = this.clock.now();
    const list = this.consumersOf(req.topic, req.group);
    const rrKey = `${req.topic}\0${req.group}`;
    const start = (this.rr.get(rrKey) ?? 0) % Math.max(1, list.length);
    this.rr.set(rrKey, start + 1);
    const out: Delivery[] = [];
    const ops: BatchOp[] = [];

    // Pass 1: redeliveries (claimed synchronously).
    const redeliver: { qc: QueueConsumer; offset: Offset; rec: InflightRecord }[] = [];
    for (let i = 0; i < list.length && redeliver.length < req.maxMessages; i++) {
      const qc = list[(start + i) % list.length]!;
      while (redeliver.length < req.maxMessages) {
        const d = qc.due.peek();
        if (!d || d.at > now) break;
        qc.due.pop();
        const cur = qc.inflight.get(d.offset);
        if (!cur || cur.token !== d.token || cur.visibleAt !== d.at) continue; // stale entry
        const rec: InflightRecord = { visibleAt: now + req.invisibleMs, attempt: cur.attempt + 1, token: this.newToken() };
        qc.inflight.set(d.offset, rec);
        this.schedule(qc, d.offset, rec);
        ops.push({ type: 'put', key: inflightKey(qc.topic, qc.group, qc.queueId, d.offset), value: encodeInflight(rec) });
        redeliver.push({ qc, offset: d.offset, rec });
      }
    }

    for (const r of redeliver) {
      const message = await this.store.readOne(r.qc.topic, r.qc.queueId, r.offset);
      if (!message) {
        // The record outlived its message (e.g. a lost write): drop it.
        r.qc.inflight.delete(r.offset);
        ops.push({ type: 'del', key: inflightKey(r.qc.topic, r.qc.group, r.qc.queueId, r.offset) });
        continue;
      }
      out.push(this.delivery(r.qc, message, r.rec));
    }

    // Pass 2: new messages. Claim offset ranges synchronously (advancing cursors), then read and
    // filter; repeat while the filter skipped messages and more are committed.
    for (let budget = req.maxMessages - out.length; budget > 0; budget = req.maxMessages - out.length) {
      const claims: { qc: QueueConsumer; from: Offset; to: Offset }[] = [];
      for (let i = 0; i < list.length && budget > 0; i++) {
        const qc = list[(start + i) % list.length]!;
        const committed = this.store.committedOffset(qc.topic, qc.queueId);
        if (qc.cursor >= committed) continue;
        const from = qc.cursor;
        const to = Math.min(committed, from + budget);
        claims.push({ qc, from, to });
        qc.cursor = to;
        budget -= to - from;
        ops.push({ type: 'put', key: cursorKey(qc.topic, qc.group, qc.queueId), value: encodeU64(to) });
      }
      if (claims.length === 0) break;
      for (const c of claims) {
        const messages = await this.store.read(c.qc.topic, c.qc.queueId, c.from, c.to);
        for (const m of messages) {
          if (!req.filter(m.tag)) continue; // not for this group: skipped for good, like RocketMQ
          const rec: InflightRecord = { visibleAt: now + req.invisibleMs, attempt: 1, token: this.newToken() };
          c.qc.inflight.set(m.offset, rec);
          this.schedule(c.qc, m.offset, rec);
          ops.push({ type: 'put', key: inflightKey(c.qc.topic, c.qc.group, c.qc.queueId, m.offset), value: encodeInflight(rec) });
          out.push(this.delivery(c.qc, m, rec));
        }
      }
    }
    await this.store.writes.write(ops);
    return out;
  }

  private delivery(qc: QueueConsumer, message: StoredMessage, rec: InflightRecord): Delivery {
    return {
      message,
      attempt: rec.attempt,
      visibleAt: rec.visibleAt,
      receiptHandle: this.handles.encode(qc.group, qc.topic, { queueId: qc.queueId, offset: message.offset, token: rec.token }),
    };
  }

  /** The in-flight record a receipt handle designates, or INVALID_RECEIPT_HANDLE. */
  private resolveHandle(topic: string, group: string, handle: string): { qc: QueueConsumer; offset: Offset; rec: InflightRecord } {
    const h = this.handles.decode(group, topic, handle);
    const list = this.consumersOf(topic, group);
    const qc = list[h.queueId];
    const rec = qc?.inflight.get(h.offset);
    if (!qc || !rec || rec.token !== h.token) {
      throw new MqError(
        Code.INVALID_RECEIPT_HANDLE,
        `receipt handle is stale: the message (queue ${h.queueId}, offset ${h.offset}) was already acknowledged or delivered again since`,
        { receiptHandle: handle, topic, group },
      );
    }
    return { qc, offset: h.offset, rec };
  }

  /** Acknowledges a delivery. Durable when the promise resolves. */
  async ack(topic: string, group: string, handle: string): Promise<void> {
    const { qc, offset } = this.resolveHandle(topic, group, handle);
    qc.inflight.delete(offset);
    await this.store.writes.write([{ type: 'del', key: inflightKey(qc.topic, qc.group, qc.queueId, offset) }]);
  }

  /**
   * Makes the message invisible for `invisibleMs` from now (0 = visible at once, a nack) and
   * returns the new receipt handle; the old one becomes stale.
   */
  async changeInvisibleDuration(topic: string, group: string, handle: string, invisibleMs: number): Promise<string> {
    const { qc, offset, rec: cur } = this.resolveHandle(topic, group, handle);
    const rec: InflightRecord = { visibleAt: this.clock.now() + invisibleMs, attempt: cur.attempt, token: this.newToken() };
    qc.inflight.set(offset, rec);
    this.schedule(qc, offset, rec);
    await this.store.writes.write([{ type: 'put', key: inflightKey(qc.topic, qc.group, qc.queueId, offset), value: encodeInflight(rec) }]);
    if (invisibleMs === 0) this.longPolling.signal(topic, 1, group);
    return this.handles.encode(group, topic, { queueId: qc.queueId, offset, token: rec.token });
  }

  /** Forgets all consumer state of a topic (after the store deleted it). */
  dropTopic(topic: string): void {
    for (const key of [...this.consumers.keys()]) if (key.startsWith(`${topic}\0`)) this.consumers.delete(key);
  }

  /** Consumer state of a group on a topic: backlog and in-flight counts. */
  groupStats(topic: string, group: string): { inflight: number; backlog: number } {
    let inflight = 0;
    let backlog = 0;
    for (const qc of this.consumers.get(`${topic}\0${group}`) ?? []) {
      inflight += qc.inflight.size;
      backlog += Math.max(0, this.store.committedOffset(topic, qc.queueId) - qc.cursor);
    }
    return { inflight, backlog };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

