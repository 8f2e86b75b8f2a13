/**
 * TODO(agentmq-callback): the AgentMQ side of the agent callback benchmark — NOT WIRED YET.
 * This stub is listed in the run (`--systems agentmq`, on by default) and fails at start with
 * "not wired yet"; replace this file, keeping the export name `agentmqSystem`.
 *
 * What the implementation has to do (interface and contract: ./system.ts; the peers in
 * ./nats.ts, ./redis.ts, ./mqtt.ts are worked examples):
 *
 *  - `check()`: nothing external is needed; return { ok: true } (or { ok: false, reason } if,
 *    say, the SDK's lite-topic support is missing).
 *  - `start(ctx)`: own the server. Either embedded in this process (nameserver + broker), then
 *    `serverPids: []` (its CPU shows up in the "harness CPU" column, and it competes with the
 *    supervisor/worker for this process's event loop), or — comparable with the peers, which are
 *    all separate processes — a child process via ../servers.ts:
 *        const dir = makeTempDir('callback-agentmq', ctx.tmpBase);
 *        startServer({ name: 'agentmq', command: process.execPath,
 *          args: [join(ctx.repoRoot, 'bin/agentmq.js'), 'dev', '--host', '127.0.0.1',
 *                 '--data-dir', join(dir, 'data'), '--nameserver-port', P1, '--broker-port', P2],
 *          cwd: ctx.repoRoot, readyPattern: /\bready\b/, logPath: join(dir, 'agentmq.log') })
 *    (bench/systems.ts startAgentMq does exactly this; check `node bin/agentmq.js dev --help`
 *    for the current flags) and return `serverPids: [server.pid]`; `stop()` stops it and
 *    removes the dir. Create the durable "tasks" topic and the worker's consumer group here.
 *  - The worker: its own client (Producer + SimpleConsumer on "tasks"). For each task body:
 *    `const { task, replies } = workerReplies(body)`, send `replies` in order on the lite topic
 *    named `task.replyTo` (send them back to back so the broker stores them in that order, or
 *    await each), then ack the task once the sends are acknowledged; count it for
 *    `workerHandled()`. Keep ~ctx.inflight tasks in progress at once (long-poll receive in
 *    batches, handle concurrently). Report failures you cannot return with `ctx.fail(err)`.
 *  - `runTask(task, trace)` (the supervisor, its own client; called concurrently up to
 *    ctx.inflight times): create the task's lite topic, e.g. `reply-${task.id}` (ids are
 *    [a-z0-9-]), subscribe to it; `trace.dispatched()` right before sending
 *    `encodeTask(task.id, liteTopicName)` to "tasks"; feed every message of the lite topic to
 *    `trace.reply(body)` in arrival order; `await trace.completed` (resolves on the final reply,
 *    rejects on timeout — stop reading when `trace.settled`); finally unsubscribe and delete the
 *    lite topic, also when `completed` rejected.
 *  - `durability` / `idiom`: say what an ack means (async vs sync flush) and how the pattern is
 *    mapped, one or two sentences each, as the peers do.
 *
 * The harness verifies every task (3 replies, for this task, in order, nothing extra) and the
 * worker's handled count; the target is AgentMQ tasks/s ≥ 2× the best peer's in the same run.
 */
import type { CallbackSystem } from './system.js';

export const agentmqSystem: CallbackSystem = {
  id: 'agentmq',
  label: 'AgentMQ (lite topics)',
  role: 'subject',
  durability: 'not wired yet',
  idiom: 'a lite topic per task as the reply channel (not wired yet: bench/callback/agentmq.ts is a stub)',
  check: () => ({ ok: true }),
  start: () => Promise.reject(new Error('AgentMQ callback system: not wired yet (TODO: implement bench/callback/agentmq.ts)')),
};
