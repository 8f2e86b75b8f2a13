/**
 * Tag filter expressions (RocketMQ TAG type): `*` (or empty) matches everything, otherwise tags
 * separated by `||`, e.g. `created||paid`. A message without a tag matches only `*`.
 * SQL92 filters are not supported (ILLEGAL_FILTER_EXPRESSION).
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { tagProblem } from '../../proto/common/names.js';

export type TagFilter = (tag: string | undefined) => boolean;

export const MATCH_ALL: TagFilter = () => true;

export function compileTagFilter(type: string | undefined, expression: string | undefined): TagFilter {
  if (type === 'SQL') {
    throw InvalidArgumentError.format('filter_expression', 'of type SQL is not supported; use TAG expressions like "a||b"', Code.ILLEGAL_FILTER_EXPRESSION);
  }
  const expr = (expression ?? '').trim();
  if (expr === '' || expr === '*') return MATCH_ALL;
  if (expr.length > 4096) throw InvalidArgumentError.format('filter_expression', 'must be at most 4096 characters', Code.ILLEGAL_FILTER_EXPRESSION);
  const tags = new Set<string>();
  for (const raw of expr.split('||')) {
    const t = raw.trim();
    const problem = tagProblem(t);
    if (problem) throw InvalidArgumentError.format('filter_expression', `has an illegal tag ${JSON.stringify(raw)}: ${problem}`, Code.ILLEGAL_FILTER_EXPRESSION);
    tags.add(t);
  }
  return (tag) => tag !== undefined && tags.has(tag);
}
