/**
 * Checks a task's input (and its result) against the agent's input (output) JSON Schema (ajv). The schema's `$schema`
 * picks the dialect: 2020-12 and 2019-09 are honoured, anything else is validated as draft-07
 * (the dialect most tool schemas are written in). Unknown keywords are ignored (`strict: false`)
 * and `format` is not checked (no format plugin), so a schema written for an LLM provider never
 * fails to compile over annotations.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import type { JsonSchemaObject } from '../../proto/common/semantic-metadata.js';

/** Most schema errors listed in a rejection message. */
const MAX_LISTED_ERRORS = 8;

export interface InputValidator {
  /** undefined when `input` matches; otherwise what is wrong, one clause per problem. */
  check(input: unknown): string | undefined;
}

function describe(e: ErrorObject, subject: string): string {
  const at = e.instancePath === '' ? subject : `${subject}${e.instancePath}`;
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
    return `${at} must not have property ${JSON.stringify(e.params.additionalProperty)}`;
  }
  if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
    return `${at} must be one of ${e.params.allowedValues.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
  }
  return `${at} ${e.message ?? 'is invalid'}`;
}

/** Compiles `schema`; throws InvalidArgumentError('inputSchema', ...) if it does not compile. */
export function compileInputValidator(schema: JsonSchemaObject): InputValidator {
  return compileSchemaValidator(schema, 'inputSchema', 'input');
}

/** The same for a result against the output schema (`field` names the option in errors). */
export function compileOutputValidator(schema: JsonSchemaObject): InputValidator {
  return compileSchemaValidator(schema, 'outputSchema', 'result');
}

function compileSchemaValidator(schema: JsonSchemaObject, field: string, subject: string): InputValidator {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  const options = { allErrors: true, strict: false, validateFormats: false } as const;
  let validate: ValidateFunction;
  try {
    if (dialect.includes('2020-12')) validate = new Ajv2020(options).compile(schema);
    else if (dialect.includes('2019-09')) validate = new Ajv2019(options).compile(schema);
    else {
      // draft-04/06 meta-schemas are not loaded: validate those as draft-07 (nearly the same).
      const { $schema: _ignored, ...rest } = schema;
      validate = new Ajv(options).compile(dialect.includes('draft-07') ? schema : rest);
    }
  } catch (err) {
    throw InvalidArgumentError.format(field, `does not compile as a JSON Schema: ${(err as Error).message}`);
  }
  return {
    check(input: unknown): string | undefined {
      if (validate(input)) return undefined;
      const errors = validate.errors ?? [];
      const listed = errors.slice(0, MAX_LISTED_ERRORS).map((e) => describe(e, subject));
      if (errors.length > MAX_LISTED_ERRORS) listed.push(`and ${errors.length - MAX_LISTED_ERRORS} more`);
      return listed.length > 0 ? listed.join('; ') : `${subject} does not match the ${field === 'inputSchema' ? 'input' : 'output'} schema`;
    },
  };
}
