import { STATUS_CODES } from 'node:http';

/** One problem with one field of a request: `field` is a dotted path (`items.0.sku`), `body` for the body itself. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** The JSON body of every error response. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: FieldProblem[];
}

export function errorBody(statusCode: number, message: string, details?: FieldProblem[]): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(details ? { details } : {}) };
}
