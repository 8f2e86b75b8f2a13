/**
 * Resource name rules, shared by servers (validation) and the client SDK (early checks).
 * Same as RocketMQ: topics and groups match [%a-zA-Z0-9_-]{1,127} (`%` is reserved for system
 * resources like %RETRY% / %DLQ%); tags are non-empty, at most 128 characters, with no `|`,
 * no control characters and not only whitespace.
 */
export const NAME_PATTERN = /^[%a-zA-Z0-9_-]+$/;
export const MAX_NAME_LENGTH = 127;
export const MAX_TAG_LENGTH = 128;

/** Why `name` is not a legal topic/group name, or undefined if it is. */
export function nameProblem(name: string | undefined | null): string | undefined {
  if (!name) return 'is required';
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters (got ${name.length})`;
  if (!NAME_PATTERN.test(name)) return `must match ${NAME_PATTERN.source} (got ${JSON.stringify(name)})`;
  return undefined;
}

export function tagProblem(tag: string): string | undefined {
  if (tag.length === 0 || tag.trim().length === 0) return 'must not be blank';
  if (tag.length > MAX_TAG_LENGTH) return `must be at most ${MAX_TAG_LENGTH} characters`;
  if (tag.includes('|')) return `must not contain '|' (got ${JSON.stringify(tag)})`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(tag)) return 'must not contain control characters';
  return undefined;
}
