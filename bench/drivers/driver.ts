/**
 * What the worker needs from each system: set up a topic/stream, publish one message (resolving
 * on the server's acknowledgement), and deliver received messages to a callback.
 */
import type { Target } from '../protocol.js';

export interface Driver {
  /** Creates the topic / stream (and the consumer group when `consumer`). */
  setup(opts: { consumer: boolean }): Promise<void>;
  /** Publishes one message; resolves when the server acknowledged it as stored. */
  publish(body: Buffer): Promise<void>;
  /**
   * Starts consuming: every received message's body goes to `onMessage` at once (before it is
   * acknowledged); acknowledgement follows without waiting. Resolves once the consumer is
   * attached.
   */
  startConsumer(onMessage: (body: Uint8Array) => void, onError: (err: unknown) => void): Promise<void>;
  /** Stops consuming and disconnects. Never rejects. */
  close(): Promise<void>;
}

export async function createDriver(target: Target): Promise<Driver> {
  switch (target.kind) {
    case 'agentmq': {
      const { AgentMqDriver } = await import('./agentmq.js');
      return new AgentMqDriver(target);
    }
    case 'nats': {
      const { NatsDriver } = await import('./nats.js');
      return new NatsDriver(target);
    }
    case 'redis': {
      const { RedisDriver } = await import('./redis.js');
      return new RedisDriver(target);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
