/**
 * An MCP server that offers the live capabilities of an AgentMQ catalog as MCP tools and runs
 * every tool call as an AgentMQ task (`agentmq mcp` runs it over stdio).
 *
 * - tools/list: the catalog's capabilities (McpToolCatalog: WatchTopics, filtered by tags or a
 *   discovery query), rendered with `tools(…, { provider: 'mcp' })`. When the list changes, the
 *   client gets `notifications/tools/list_changed` (capability `tools.listChanged`).
 * - tools/call: `parseCall` → (with `strict`: the arguments checked against the input schema) →
 *   `Supervisor.call(topic, args, { timeoutMs, signal })` → the result as text (+
 *   `structuredContent` via `wrapResult` when the tool has an output schema). Status updates
 *   and artifacts go out as `notifications/progress` when the client sent a progress token. A
 *   task that fails, is rejected, canceled or times out is answered with `isError: true` and
 *   the reason; a call to a tool not offered is a JSON-RPC error (InvalidParams).
 * - `notifications/cancelled` aborts the call's signal: the task is canceled (the agent is told).
 * - `close()`: closes the MCP connection (running calls are canceled and their agents told,
 *   waiting at most `closeTimeoutMs`), the watch stream and the supervisor. Idempotent.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolRequest,
  type CallToolResult,
  type ListToolsResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../proto/common/logger.js';
import { compileInputValidator, type InputValidator } from '../agent/input-validator.js';
import { Supervisor } from '../agent/supervisor.js';
import type { TaskHandle } from '../agent/task-handle.js';
import type { McpTool, ToolCall, ToolSet } from '../agent/tools.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import type { JsonSchemaObject } from '../discovery/discovery-types.js';
import { CLIENT_VERSION } from '../version.js';
import { describeError, errorResult, errorText, progressMessage, successResult, type TaskRef } from './call-result.js';
import { resolveMcpServerOptions, type McpServerOptions, type ResolvedMcpServerOptions } from './mcp-options.js';
import { McpToolCatalog } from './tool-catalog.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

type State = 'created' | 'running' | 'closing' | 'closed';

export class AgentMqMcpServer {
  /** The MCP SDK server (its handlers are set; connect it with `start(transport)`). */
  readonly server: Server;
  private readonly o: ResolvedMcpServerOptions;
  private readonly log: Logger;
  private readonly discovery: DiscoveryClient;
  private readonly catalog: McpToolCatalog;
  private readonly supervisor: Supervisor;
  private state: State = 'created';
  private initialized = false;
  /** A tools/list was answered before the first snapshot arrived (so its list was incomplete). */
  private listedEarly = false;
  private closePromise: Promise<void> | undefined;
  private readonly calls = new Set<TaskHandle>();
  private readonly validators = new Map<string, InputValidator | null>();
  private resolveClosed!: () => void;
  /** Resolves once the server has closed (by `close()`, or because its transport closed). */
  readonly closed: Promise<void>;

  constructor(options: McpServerOptions = {}) {
    this.o = resolveMcpServerOptions(options);
    this.log = this.o.client.logger;
    const { clientId, ...client } = this.o.client;
    this.discovery = new DiscoveryClient({ ...client, clientId: `${clientId}-catalog` });
    this.supervisor = new Supervisor({ ...this.o.supervisor, ...client, clientId, timeoutMs: this.o.timeoutMs });
    this.catalog = new McpToolCatalog(this.o, this.discovery, this.log);
    this.catalog.onChange = (_tools, first) => this.toolsChanged(first);
    this.closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

    this.server = new Server(
      { name: this.o.serverName, version: CLIENT_VERSION },
      {
        capabilities: { tools: { listChanged: true } },
        instructions:
          'Each tool is an AgentMQ agent (a capability registered with the NameServer). A call sends it a task and waits for its result; ' +
          'send a progress token to follow its status updates. The list changes as agents come and go (notifications/tools/list_changed).',
      },
    );
    this.server.oninitialized = () => {
      this.initialized = true;
    };
    // The transport closed by itself (or because close() closed it: then this is a no-op).
    this.server.onclose = () => {
      if (this.state === 'running') void this.close();
    };
    this.server.onerror = (err) => this.log.debug('MCP transport error', { err });
    this.server.setRequestHandler(ListToolsRequestSchema, () => this.listTools());
    this.server.setRequestHandler(CallToolRequestSchema, (req, extra) => this.callTool(req, extra));
  }

  /** Starts watching the catalog and the supervisor, and serves MCP on `transport`. */
  async start(transport: Transport): Promise<void> {
    if (this.state !== 'created') throw new Error(`the MCP server was already started (${this.state})`);
    this.state = 'running';
    this.catalog.start();
    // Early, so the first call does not wait for it; call() starts it again if this failed.
    this.supervisor.start().catch((err: unknown) => this.log.warn('the supervisor could not start yet; the first tool call retries', { err }));
    await this.server.connect(transport);
  }

  /** The tools offered now. */
  tools(): McpTool[] {
    return this.catalog.tools;
  }

  /** Closes the MCP connection, cancels running calls, closes the clients. Idempotent; never rejects. */
  close(): Promise<void> {
    // Started on the next tick, so that a close() re-entered from inside (the transport's onclose) finds the promise.
    this.closePromise ??= Promise.resolve().then(() => this.doClose());
    return this.closePromise;
  }

  // --- handlers ------------------------------------------------------------------------------------

  private async listTools(): Promise<ListToolsResult> {
    if (!(await this.catalog.whenReady(this.o.readyTimeoutMs))) {
      this.listedEarly = true;
      this.log.warn('tools/list answered before the catalog snapshot arrived', { nameserver: this.o.client.nameserver });
    }
    return { tools: this.catalog.tools as ListToolsResult['tools'] };
  }

  private async callTool(req: CallToolRequest, extra: Extra): Promise<CallToolResult> {
    const name = req.params.name;
    await this.catalog.whenReady(this.o.readyTimeoutMs);
    const set = this.catalog.toolSet;
    const binding = set.binding(name);
    if (!binding) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name} (not one of the capabilities offered now; list the tools again)`);
    let call: ToolCall;
    try {
      call = set.parseCall(name, req.params.arguments);
    } catch (err) {
      return errorText(`INVALID_ARGUMENTS: ${describeError(err)}`);
    }
    if (this.o.strict) {
      const problem = this.validator(binding.topic, binding.capability.inputSchema)?.check(call.args);
      if (problem) return errorText(`INVALID_ARGUMENTS: ${problem}`);
    }
    if (this.state !== 'running') return errorText('CLOSED: the MCP server is shutting down');

    let handle: TaskHandle;
    try {
      handle = await this.supervisor.call(call.topic, call.args, { timeoutMs: this.o.timeoutMs, signal: extra.signal });
    } catch (err) {
      this.log.debug('a tool call could not be sent', { tool: name, topic: call.topic, err });
      return errorResult(err);
    }
    this.calls.add(handle);
    const ref = (): TaskRef => ({ taskId: handle.taskId, topic: handle.topic, state: handle.status() });
    const progressToken = extra._meta?.progressToken;
    const progress = progressToken !== undefined ? this.pumpProgress(handle, progressToken, extra) : Promise.resolve();
    try {
      const value = await handle.result();
      await progress;
      return this.completed(set, call.toolName, value, ref());
    } catch (err) {
      await progress;
      this.log.debug('a tool call ended without a result', { tool: name, taskId: handle.taskId, err });
      return errorResult(err, ref());
    } finally {
      this.calls.delete(handle);
    }
  }

  /** The result of a completed task; a result that does not match the tool's output schema is an error. */
  private completed(set: ToolSet<McpTool>, toolName: string, value: unknown, ref: TaskRef): CallToolResult {
    const outputSchema = set.tools.find((t) => t.name === toolName)?.outputSchema;
    if (!outputSchema) return successResult(value, undefined, ref);
    const structured = set.wrapResult(toolName, value ?? null);
    const problem = this.validator(`output:${toolName}`, outputSchema)?.check(structured);
    if (problem) {
      return errorText(`OUTPUT_MISMATCH: the agent's result does not match its output schema (${problem.replace(/\binput\b/g, 'result')}); result: ${JSON.stringify(value) ?? 'none'}`, ref);
    }
    return successResult(value, structured, ref);
  }

  /** Status updates and artifacts as `notifications/progress` (progress 0 = the task was sent). */
  private async pumpProgress(handle: TaskHandle, progressToken: string | number, extra: Extra): Promise<void> {
    let progress = 0;
    const send = (message: string) =>
      extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: progress++, message } }).catch((err: unknown) => {
        this.log.debug('a progress notification could not be sent', { taskId: handle.taskId, err });
      });
    await send(`task ${handle.taskId} sent to ${handle.topic}`);
    try {
      for await (const e of handle.events()) {
        const message = progressMessage(e);
        if (message !== undefined) await send(message);
      }
    } catch {
      // The call ended locally (timeout, cancel, close): the result says how.
    }
  }

  // --- internals -----------------------------------------------------------------------------------

  /** A cached validator for `schema`; null when it does not compile (then nothing is checked). */
  private validator(key: string, schema: JsonSchemaObject | undefined): InputValidator | undefined {
    if (!schema) return undefined;
    const cacheKey = `${key}\n${JSON.stringify(schema)}`;
    let v = this.validators.get(cacheKey);
    if (v === undefined) {
      try {
        v = compileInputValidator(schema);
      } catch (err) {
        this.log.warn('a schema does not compile; not checked', { key, err });
        v = null;
      }
      if (this.validators.size > 1000) this.validators.clear();
      this.validators.set(cacheKey, v);
    }
    return v ?? undefined;
  }

  private toolsChanged(first: boolean): void {
    if (!this.initialized || this.state !== 'running') return;
    if (first && !this.listedEarly) return; // nobody has seen an incomplete list
    this.server.sendToolListChanged().catch((err: unknown) => this.log.debug('tools/list_changed could not be sent', { err }));
  }

  private async doClose(): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'closing';
    const running = [...this.calls];
    // Closing the connection aborts every running call's signal: their tasks are canceled.
    if (wasRunning) await this.server.close().catch((err: unknown) => this.log.debug('closing the MCP transport failed', { err }));
    for (const h of running) void h.cancel('the MCP client went away');
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.map((h) => h.result().catch(() => undefined))),
        new Promise<void>((r) => (timer = setTimeout(r, this.o.closeTimeoutMs))),
      ]);
      clearTimeout(timer);
    }
    await this.catalog.stop().catch(() => undefined);
    await this.supervisor.close();
    await this.discovery.close();
    this.state = 'closed';
    this.resolveClosed();
  }
}
