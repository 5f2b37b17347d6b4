import { STATUS_CODES } from 'node:http';
import { z } from 'zod';

/** One problem with one field of a request: `field` is a dotted path (`items.0.sku`), `body` for the body itself. */
export const fieldProblemSchema = z.object({ field: z.string(), message: z.string() });
export type FieldProblem = z.output<typeof fieldProblemSchema>;

/** The JSON body of every error response (documented in OpenAPI from this schema). */
export const errorBodySchema = z.object({
  statusCode: z.int().min(400).max(599),
  error: z.string(),
  message: z.string(),
  details: z.array(fieldProblemSchema).optional(),
});
export type ErrorBody = z.output<typeof errorBodySchema>;

export function errorBody(statusCode: number, message: string, details?: FieldProblem[]): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(details ? { details } : {}) };
}
