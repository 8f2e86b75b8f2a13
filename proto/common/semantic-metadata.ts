/**
 * Semantic metadata of a topic (what the agent behind it does), as the broker stores it and the
 * NameServer indexes it, and its conversion to and from agentmq.v1.SemanticMetadata (JSON
 * Schemas travel as JSON text). Validation lives in topic-document.ts.
 */
import type { SemanticMetadata as WireSemanticMetadata, SemanticMetadata__Output } from '../gen/agentmq/v1/SemanticMetadata.js';

export type JsonSchemaObject = { [key: string]: unknown };

export interface SemanticSkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples: string[];
}

export interface SemanticMetadata {
  description: string;
  tags: string[];
  skills: SemanticSkill[];
  inputSchema?: JsonSchemaObject;
  outputSchema?: JsonSchemaObject;
  owner?: string;
  version?: string;
  attributes: Record<string, string>;
}

export function semanticToWire(m: SemanticMetadata): WireSemanticMetadata {
  return {
    description: m.description,
    tags: m.tags,
    skills: m.skills.map((s) => ({ id: s.id, name: s.name, description: s.description, tags: s.tags, examples: s.examples })),
    inputSchemaJson: m.inputSchema ? JSON.stringify(m.inputSchema) : '',
    outputSchemaJson: m.outputSchema ? JSON.stringify(m.outputSchema) : '',
    owner: m.owner ?? '',
    version: m.version ?? '',
    attributes: m.attributes,
  };
}

/** Loose conversion from the wire (validation is the receiver's job); JSON parse errors are kept as the raw text. */
export function semanticFromWire(w: SemanticMetadata__Output): Record<string, unknown> {
  const parse = (s: string, field: string): unknown => {
    if (!s) return undefined;
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return { __invalidJson: field };
    }
  };
  return {
    description: w.description,
    tags: w.tags ?? [],
    skills: (w.skills ?? []).map((s) => ({ id: s.id, name: s.name, description: s.description, tags: s.tags ?? [], examples: s.examples ?? [] })),
    inputSchema: parse(w.inputSchemaJson, 'input_schema_json'),
    outputSchema: parse(w.outputSchemaJson, 'output_schema_json'),
    owner: w.owner || undefined,
    version: w.version || undefined,
    attributes: w.attributes ?? {},
  };
}
