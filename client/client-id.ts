/**
 * Client ids: `hostname@pid@index@Date.now().toString(36)`, the layout of the official clients
 * (rocketmq-clients docs/design.md "Client identifier"). The broker keys sessions, InterestSets
 * and ReadySets on it, so every client instance gets its own; `index` counts instances in this
 * process, the time suffix tells a restarted process with a recycled pid apart.
 */
import { hostname } from 'node:os';

let index = 0;

export function createClientId(): string {
  return `${hostname()}@${process.pid}@${index++}@${Date.now().toString(36)}`;
}
