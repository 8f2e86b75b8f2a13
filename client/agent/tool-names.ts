/**
 * Provider-safe tool names for capabilities (semantic topics), and the way back.
 *
 * LLM providers accept only some tool names: OpenAI and Anthropic `^[a-zA-Z0-9_-]{1,64}$`, MCP
 * `^[A-Za-z0-9._-]{1,128}$` (a SHOULD in the MCP spec; the SDK warns about leading or trailing
 * `-` and `.`). A `ToolNameMap` gives every topic of a set one such name, deterministically:
 *
 * 1. a topic name the provider accepts is kept as it is; any other is normalised (NFKD,
 *    combining marks dropped: "café" -> "cafe"), every run of characters the provider does not
 *    accept becomes one `_`, and `-`, `.` and `_` are trimmed from both ends;
 * 2. a name with no letter or digit left becomes `tool_<hash>`; a name longer than the limit
 *    is cut and ends in `_<hash>`;
 * 3. topics whose names then collide (compared case-insensitively, as some clients do) are told
 *    apart: a topic whose name needed no change keeps it, every other one gets `_<hash>`.
 *
 * `<hash>` is the first 8 hex digits of SHA-256 of the topic name, so a topic's suffix does not
 * depend on the other topics or on their order; the names are a function of the *set* of topics.
 * `topicOf(toolName)` maps back.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../proto/common/errors.js';

/** Where the tools go. Both OpenAI APIs share one naming rule. */
export type ToolProvider = 'openai-chat' | 'openai-responses' | 'anthropic' | 'mcp';

/** The naming rule of a provider. */
export interface ToolNameRule {
  /** The names the provider accepts. */
  pattern: RegExp;
  maxLength: number;
  /** Characters kept as they are (everything else is replaced by `_`), as a regex class body. */
  allowedChars: string;
}

/** OpenAI (both APIs) and Anthropic: `^[a-zA-Z0-9_-]{1,64}$`. */
export const OPENAI_TOOL_NAME_RULE: ToolNameRule = { pattern: /^[a-zA-Z0-9_-]{1,64}$/, maxLength: 64, allowedChars: 'a-zA-Z0-9_-' };
export const ANTHROPIC_TOOL_NAME_RULE: ToolNameRule = OPENAI_TOOL_NAME_RULE;
/** MCP (tool-name guidance since spec 2025-11-25): `^[A-Za-z0-9._-]{1,128}$`. */
export const MCP_TOOL_NAME_RULE: ToolNameRule = { pattern: /^[A-Za-z0-9._-]{1,128}$/, maxLength: 128, allowedChars: 'A-Za-z0-9._-' };

export function toolNameRule(provider: ToolProvider): ToolNameRule {
  switch (provider) {
    case 'openai-chat':
    case 'openai-responses':
      return OPENAI_TOOL_NAME_RULE;
    case 'anthropic':
      return ANTHROPIC_TOOL_NAME_RULE;
    case 'mcp':
      return MCP_TOOL_NAME_RULE;
    default:
      throw InvalidArgumentError.format('provider', `must be one of openai-chat, openai-responses, anthropic, mcp (got ${JSON.stringify(provider)})`);
  }
}

/** Length of the hash suffix (hex digits). */
export const TOOL_NAME_HASH_LENGTH = 8;

/** First `TOOL_NAME_HASH_LENGTH` hex digits of SHA-256 of `s`. */
export function shortHash(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, TOOL_NAME_HASH_LENGTH);
}

/** `base` cut so that `base_suffix` fits in `max` characters (trailing separators trimmed). */
function withSuffix(base: string, suffix: string, max: number): string {
  const room = max - suffix.length - 1;
  const cut = base.slice(0, Math.max(0, room)).replace(/[-._]+$/, '');
  return cut === '' ? `tool_${suffix}`.slice(0, max) : `${cut}_${suffix}`;
}

/**
 * The provider-safe name of one topic on its own (no collision handling): what steps 1 and 2
 * of the module comment give. `exact` tells whether the name is the topic name unchanged.
 */
export function baseToolName(topic: string, rule: ToolNameRule): { name: string; exact: boolean } {
  if (rule.pattern.test(topic)) return { name: topic, exact: true };
  const invalid = new RegExp(`[^${rule.allowedChars}]+`, 'g');
  let name = topic
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(invalid, '_')
    .replace(/^[-._]+|[-._]+$/g, '');
  if (!/[A-Za-z0-9]/.test(name)) name = `tool_${shortHash(topic)}`;
  else if (name.length > rule.maxLength) name = withSuffix(name, shortHash(topic), rule.maxLength);
  return { name, exact: false };
}

/** One entry of a `ToolNameMap`. */
export interface ToolNameEntry {
  topic: string;
  toolName: string;
}

export interface ToolNameMapOptions {
  /** Whose naming rule to follow. @default 'openai-chat' (the strictest). */
  provider?: ToolProvider;
  /** Or a rule of one's own. */
  rule?: ToolNameRule;
}

/**
 * Tool names for a set of topics, and the reverse map. Immutable; build a new one when the set
 * changes (a name can change only when a new topic collides with it).
 */
export class ToolNameMap {
  readonly rule: ToolNameRule;
  private readonly byTopic = new Map<string, string>();
  private readonly byTool = new Map<string, string>();

  constructor(topics: Iterable<string>, options: ToolNameMapOptions = {}) {
    this.rule = options.rule ?? toolNameRule(options.provider ?? 'openai-chat');
    const sorted = [...new Set(topics)].sort(compareCodeUnits);
    for (const t of sorted) {
      if (typeof t !== 'string' || t === '') throw InvalidArgumentError.format('topic', `must be a non-empty string (got ${JSON.stringify(t)})`);
    }

    // Group by base name, case-insensitively.
    const groups = new Map<string, { topic: string; name: string; exact: boolean }[]>();
    for (const topic of sorted) {
      const base = baseToolName(topic, this.rule);
      const key = base.name.toLowerCase();
      const group = groups.get(key);
      if (group) group.push({ topic, ...base });
      else groups.set(key, [{ topic, ...base }]);
    }

    // Pass 1: names that stand: a group of one, or the exact member of a group (the first in
    // code-unit order if several are exact, e.g. "Foo" and "foo").
    const taken = new Set<string>();
    const pending: { topic: string; name: string }[] = [];
    for (const key of [...groups.keys()].sort(compareCodeUnits)) {
      const group = groups.get(key)!;
      const keeper = group.length === 1 ? group[0] : group.find((m) => m.exact);
      for (const m of group) {
        if (m === keeper) {
          this.assign(m.topic, m.name);
          taken.add(m.name.toLowerCase());
        } else pending.push(m);
      }
    }
    // Pass 2: the others get a hash suffix; in the (astronomically unlikely) event that one is
    // taken too, the hash is salted with a counter until it is free. Sorted, so deterministic.
    pending.sort((a, b) => compareCodeUnits(a.topic, b.topic));
    for (const m of pending) {
      let name = withSuffix(m.name, shortHash(m.topic), this.rule.maxLength);
      for (let salt = 1; taken.has(name.toLowerCase()); salt++) {
        name = withSuffix(m.name, shortHash(`${m.topic}#${salt}`), this.rule.maxLength);
      }
      this.assign(m.topic, name);
      taken.add(name.toLowerCase());
    }
  }

  private assign(topic: string, toolName: string): void {
    this.byTopic.set(topic, toolName);
    this.byTool.set(toolName, topic);
  }

  /** The tool name of `topic`; throws `InvalidArgumentError` for a topic not in the set. */
  toolName(topic: string): string {
    const name = this.byTopic.get(topic);
    if (name === undefined) throw InvalidArgumentError.format('topic', `is not one of the mapped topics (got ${JSON.stringify(topic)})`);
    return name;
  }

  /** The topic behind `toolName`, or undefined when no tool has that name. */
  topicOf(toolName: string): string | undefined {
    return this.byTool.get(toolName);
  }

  hasTopic(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  hasTool(toolName: string): boolean {
    return this.byTool.has(toolName);
  }

  get size(): number {
    return this.byTopic.size;
  }

  /** Every mapping, sorted by topic. */
  entries(): ToolNameEntry[] {
    return [...this.byTopic].map(([topic, toolName]) => ({ topic, toolName })).sort((a, b) => compareCodeUnits(a.topic, b.topic));
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this.entries().map((e) => [e.topic, e.toolName]));
  }
}

/** Locale-independent order (UTF-16 code units), so names do not depend on the machine. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
