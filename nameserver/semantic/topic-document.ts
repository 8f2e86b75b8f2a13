/**
 * The texts the discovery indexes see for a topic document: `embeddingText(doc)` for the
 * embedder, `lexicalSections(doc)` (the same material, weighted per field) for BM25. The document
 * itself — types, validation, AgentCard import — is shared with the broker in
 * proto/common/topic-document.ts and re-exported here.
 */
import { isPlainObject, type TopicDocument } from '../../proto/common/topic-document.js';
import type { WeightedSection } from './lexical-index.js';

export {
  TOPIC_DOCUMENT_LIMITS,
  TopicDocumentError,
  agentCardVersion,
  topicDocumentFromAgentCard,
  topicNameFromTitle,
  validateTopicDocument,
} from '../../proto/common/topic-document.js';
export type {
  AgentCardImportOptions,
  AgentCardVersion,
  JsonSchemaObject,
  TopicDocument,
  TopicDocumentInput,
  TopicDocumentProblem,
  TopicSkill,
} from '../../proto/common/topic-document.js';

function nameWords(name: string): string {
  return name.replace(/[._\-%]+/g, ' ').trim();
}

/**
 * The text the embedder sees: the name as words, the description, then each skill's name,
 * description, tags and examples, then the topic's tags. Schemas, owner and attributes are left
 * out (they describe plumbing, not the capability).
 */
export function embeddingText(doc: TopicDocument): string {
  const lines: string[] = [`${nameWords(doc.name)}.`, doc.description];
  for (const s of doc.skills) {
    lines.push(`${s.name}: ${s.description}`);
    if (s.tags.length > 0) lines.push(s.tags.join(', '));
    for (const e of s.examples) lines.push(e);
  }
  if (doc.tags.length > 0) lines.push(doc.tags.join(', '));
  return lines.filter((l) => l.trim() !== '').join('\n');
}

/** Per-field weights of the BM25 document (BM25F-style); 0 leaves a field out. */
export interface LexicalFieldWeights {
  name: number;
  description: number;
  tags: number;
  skillNames: number;
  skillDescriptions: number;
  examples: number;
  /** Property names of the input/output schemas ("file_url", "clause_types"). */
  schemaProperties: number;
}

/**
 * Examples count double: they are written the way requests are (goals, not capabilities), which
 * is what queries look like (dev set: top-1 0.567 at 1, 0.589 at 2; other fields were flat).
 */
export const DEFAULT_LEXICAL_FIELD_WEIGHTS: Readonly<LexicalFieldWeights> = {
  name: 1,
  description: 1,
  tags: 1,
  skillNames: 1,
  skillDescriptions: 1,
  examples: 2,
  schemaProperties: 0,
};

/** The material of `embeddingText(doc)`, split by field and weighted, for the BM25 index. */
export function lexicalSections(
  doc: TopicDocument,
  weights: Readonly<LexicalFieldWeights> = DEFAULT_LEXICAL_FIELD_WEIGHTS,
): WeightedSection[] {
  const sections: WeightedSection[] = [
    { text: nameWords(doc.name), weight: weights.name },
    { text: doc.description, weight: weights.description },
    { text: doc.tags.join(' '), weight: weights.tags },
  ];
  for (const s of doc.skills) {
    sections.push(
      { text: s.name, weight: weights.skillNames },
      { text: s.description, weight: weights.skillDescriptions },
      { text: s.tags.join(' '), weight: weights.tags },
      { text: s.examples.join('\n'), weight: weights.examples },
    );
  }
  if (weights.schemaProperties > 0) {
    const props = [doc.inputSchema, doc.outputSchema].flatMap((s) =>
      s && isPlainObject(s.properties) ? Object.keys(s.properties) : [],
    );
    sections.push({ text: props.join(' '), weight: weights.schemaProperties });
  }
  return sections.filter((s) => s.weight > 0 && s.text.trim() !== '');
}

