import { z } from 'zod';
import type { EventContract, EventData } from './event-contract.js';
import { EventRejectedError, type FieldIssue } from './event-rejected-error.js';

/** What the payload as a whole is called in a field path. */
const ROOT_PATH = 'data';

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : ROOT_PATH,
    message: issue.message,
  }));
}

/**
 * Parses data against one contract version: unknown fields are dropped, anything else wrong throws
 * `schema_invalid` naming every bad field. `context` says what was being done, e.g. "after upcasting".
 */
export function validateEventData<C extends EventContract>(contract: C, data: unknown, context?: string): EventData<C> {
  // z.safeParse (not schema.safeParse) keeps the output typed by the contract's own schema.
  const result = z.safeParse<C['schema']>(contract.schema, data);
  if (result.success) return result.data;
  const issues = fieldIssues(result.error);
  const fields = issues.map((issue) => `${issue.path} (${issue.message})`).join(', ');
  const what = `${contract.type} v${contract.version}${context ? ` ${context}` : ''}`;
  throw new EventRejectedError('schema_invalid', `${what}: invalid data: ${fields}`, {
    eventType: contract.type,
    version: contract.version,
    issues,
  });
}
