/**
 * A discovered capability: a registered topic an agent serves, as a supervisor sees it (what it
 * does, the schema of its input, how well it matched a query, whether an agent is online for it).
 * What `Supervisor.discover()` returns. It is a `Capability` of tools.ts as it is, so
 * `tools(await supervisor.discover(query), { provider })` renders it as LLM tools.
 */
import type { JsonSchemaObject, SemanticSkill } from '../../proto/common/semantic-metadata.js';
import type { CatalogTopic } from '../discovery/discovery-types.js';
import { AGENT_NAME_ATTRIBUTE } from './agent-options.js';

export interface DiscoveredCapability {
  /** The capability topic: what `call()` sends the task to. */
  topic: string;
  /** The agent's display name (attribute `agentmq.agent.name`), else the topic. */
  name: string;
  description: string;
  tags: string[];
  skills: SemanticSkill[];
  /** JSON Schema of the task input (the arguments of `call()`). */
  inputSchema?: JsonSchemaObject;
  /** JSON Schema of the result. */
  outputSchema?: JsonSchemaObject;
  owner?: string;
  version?: string;
  attributes: Record<string, string>;
  /** How well it matched the query, 0..1 (1 when not from a search). */
  score: number;
  /** Some agent instance is online for it. */
  live: boolean;
}

export function capabilityFromTopic(t: CatalogTopic, score = 1): DiscoveredCapability {
  const m = t.metadata;
  const c: DiscoveredCapability = {
    topic: t.name,
    name: m.attributes?.[AGENT_NAME_ATTRIBUTE] ?? t.name,
    description: m.description,
    tags: m.tags ?? [],
    skills: m.skills ?? [],
    attributes: m.attributes ?? {},
    score,
    live: t.live,
  };
  if (m.inputSchema) c.inputSchema = m.inputSchema;
  if (m.outputSchema) c.outputSchema = m.outputSchema;
  if (m.owner) c.owner = m.owner;
  if (m.version) c.version = m.version;
  return c;
}
