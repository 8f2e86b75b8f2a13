/**
 * The capabilities the MCP server offers, kept current from the NameServer's catalog watch
 * stream (WatchTopics): a snapshot, then additions, updates, removals and liveness flips.
 *
 * - Live capabilities only unless `includeOffline` (a live-only watch reports a topic going
 *   offline as a removal); then the `tags` filter; then, with a `query`, the NameServer's ranking
 *   for it (Discover, re-run after every change; nothing when its verdict is "no match").
 * - Rendered with `tools(…, { provider: 'mcp' })`; every tool's `_meta` also says whether an agent
 *   serves it (`dev.agentmq/live`). `onChange` fires only when the rendered list differs.
 * - Changes closer together than `refreshDebounceMs` are applied together; a failed or ended
 *   stream is re-opened with a doubling backoff, and its fresh snapshot replaces what was known.
 *   While the NameServer is away, the last list stays.
 */
import type { Logger } from '../../proto/common/logger.js';
import { capabilityFromTopic, type DiscoveredCapability } from '../agent/capability.js';
import { tools, type McpTool, type ToolSet } from '../agent/tools.js';
import type { DiscoveryClient } from '../discovery/discovery-client.js';
import type { CatalogTopic } from '../discovery/discovery-types.js';
import type { ResolvedMcpServerOptions } from './mcp-options.js';

/** `_meta` key of an MCP tool saying whether some agent serves the capability right now. */
export const MCP_LIVE_META_KEY = 'dev.agentmq/live';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class McpToolCatalog {
  /** Topics as the watch stream last described them (after the first snapshot). */
  private topics = new Map<string, CatalogTopic>();
  private current: ToolSet<McpTool> = tools([], { provider: 'mcp' });
  private rendered: McpTool[] = [];
  private signature = '[]';
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private isReady = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private dirty = false;
  /** Called after the offered tools changed; `first`: the change is the first snapshot's. */
  onChange: ((tools: McpTool[], first: boolean) => void) | undefined;

  constructor(
    private readonly o: ResolvedMcpServerOptions,
    private readonly discovery: DiscoveryClient,
    private readonly log: Logger,
  ) {
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
  }

  /** Opens the watch stream (idempotent). */
  start(): void {
    this.loop ??= this.watchLoop();
  }

  /** The tool set the offered tools were rendered from (for parseCall / wrapResult). */
  get toolSet(): ToolSet<McpTool> {
    return this.current;
  }

  /** The tools offered now (tools/list). */
  get tools(): McpTool[] {
    return this.rendered;
  }

  /** Whether the first snapshot has been applied. */
  get synced(): boolean {
    return this.isReady;
  }

  /** Resolves once the first snapshot has been applied, or after `timeoutMs` (whichever first). */
  async whenReady(timeoutMs: number): Promise<boolean> {
    if (this.isReady) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ready, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return this.isReady;
  }

  /** Closes the watch stream; idempotent. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.markReady();
    await this.loop;
    await this.refreshing;
  }

  // --- internals -----------------------------------------------------------------------------------

  private async watchLoop(): Promise<void> {
    const signal = this.abort.signal;
    let delay = this.o.watchRetryMs.min;
    /** Failures in a row: the first is a warning, the ones after it debug lines. */
    let failures = 0;
    const failed = (msg: string, err?: unknown) => {
      const fields = { nameserver: this.o.client.nameserver, retryInMs: delay, ...(err !== undefined ? { err } : {}) };
      if (failures++ === 0) this.log.warn(msg, fields);
      else this.log.debug(msg, { ...fields, failures });
    };
    while (!signal.aborted) {
      /** Topics of a snapshot being received; undefined once it ended. */
      let snapshot: Map<string, CatalogTopic> | undefined = new Map();
      try {
        for await (const e of this.discovery.watch({ includeOffline: this.o.includeOffline, signal })) {
          switch (e.type) {
            case 'snapshot':
              snapshot?.set(e.topic.name, e.topic);
              break;
            case 'snapshot-end':
              if (snapshot) this.topics = snapshot;
              snapshot = undefined;
              delay = this.o.watchRetryMs.min;
              if (failures > 0) this.log.info('the catalog watch stream is back', { nameserver: this.o.client.nameserver, topics: this.topics.size });
              else this.log.debug('catalog snapshot received', { topics: this.topics.size });
              failures = 0;
              this.schedule(0);
              break;
            case 'added':
            case 'updated':
            case 'liveness':
              (snapshot ?? this.topics).set(e.topic.name, e.topic);
              if (!snapshot) this.schedule(this.o.refreshDebounceMs);
              break;
            case 'removed':
              (snapshot ?? this.topics).delete(e.name);
              if (!snapshot) this.schedule(this.o.refreshDebounceMs);
              break;
          }
        }
        if (signal.aborted) break;
        failed('the catalog watch stream ended; reopening it');
      } catch (err) {
        if (signal.aborted) break;
        failed('the catalog watch stream failed; reopening it', err);
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, this.o.watchRetryMs.max);
    }
  }

  /** Refreshes the tools `ms` from now (a pending refresh is not pushed back). */
  private schedule(ms: number): void {
    if (this.abort.signal.aborted || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, ms);
  }

  /** One refresh at a time; a change during one runs another right after. */
  private refresh(): Promise<void> {
    if (this.refreshing) {
      this.dirty = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.dirty = false;
          await this.rebuild();
        } while (this.dirty && !this.abort.signal.aborted);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async rebuild(): Promise<void> {
    const signal = this.abort.signal;
    let chosen = [...this.topics.values()]
      .filter((t) => (this.o.includeOffline || t.live) && this.o.tags.every((tag) => (t.metadata.tags ?? []).includes(tag)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (this.o.query !== undefined) {
      try {
        const res = await this.discovery.discover(this.o.query, { topK: this.o.topK, tags: this.o.tags, includeOffline: this.o.includeOffline, signal });
        const byName = new Map(chosen.map((t) => [t.name, t]));
        chosen = res.noMatch ? [] : res.hits.map((h) => byName.get(h.topic.name)).filter((t): t is CatalogTopic => t !== undefined);
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn('discovery for the query failed; the tools stay as they were', { query: this.o.query, retryInMs: this.o.watchRetryMs.max, err });
        this.schedule(this.o.watchRetryMs.max);
        return;
      }
    }
    if (signal.aborted) return;
    const caps = chosen.map((t) => capabilityFromTopic(t));
    const set = this.render(caps);
    const live = new Map(caps.map((c) => [c.topic, c.live]));
    const rendered = set.tools.map((t) => ({ ...t, _meta: { ...t._meta, [MCP_LIVE_META_KEY]: live.get(set.names.topicOf(t.name) ?? '') ?? false } }));
    const signature = JSON.stringify(rendered);
    this.current = set;
    const changed = signature !== this.signature;
    if (changed) {
      this.rendered = rendered;
      this.signature = signature;
      this.log.info('tools changed', { tools: rendered.length, names: rendered.map((t) => t.name).join(',') });
    }
    const first = !this.isReady;
    this.isReady = true;
    this.markReady();
    if (changed) this.onChange?.(rendered, first);
  }

  /** The MCP tool set; a capability that cannot be rendered is left out (and logged). */
  private render(caps: DiscoveredCapability[]): ToolSet<McpTool> {
    try {
      return tools(caps, { provider: 'mcp' });
    } catch {
      const ok = caps.filter((c) => {
        try {
          tools([c], { provider: 'mcp' });
          return true;
        } catch (err) {
          this.log.warn('a capability cannot be rendered as an MCP tool; left out', { topic: c.topic, err });
          return false;
        }
      });
      return tools(ok, { provider: 'mcp' });
    }
  }
}
