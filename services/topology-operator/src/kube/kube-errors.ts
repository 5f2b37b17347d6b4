import { errorMessage } from '../errors.js';

/**
 * HTTP status of a failed Kubernetes API call: `ApiException.code` from the generated clients, `statusCode` from
 * `Watch`; undefined for anything else (a refused connection, a DNS failure).
 */
export function kubeStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number' && code >= 100 && code < 600) return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

/** A failed API server call (client-node's ApiException carries the response's `code`, `body` and `headers`), as opposed to a broker or code error. */
export function isKubeApiError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'headers' in error &&
    'body' in error &&
    kubeStatusOf(error) !== undefined
  );
}

export const isNotFound = (error: unknown): boolean => kubeStatusOf(error) === 404;
export const isConflict = (error: unknown): boolean => kubeStatusOf(error) === 409;
export const isAlreadyExists = isConflict;

/** One line for a log or an Event: the API server's `Status.message` when there is one, not the whole response dump. */
export function describeKubeError(error: unknown): string {
  const status = kubeStatusOf(error);
  const body = (error as { body?: unknown } | undefined)?.body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message;
    } catch {
      message = body.slice(0, 200);
    }
  } else if (body && typeof body === 'object') {
    message = (body as { message?: string }).message;
  }
  message ??= errorMessage(error);
  return status === undefined ? message : `HTTP ${status}: ${message}`;
}
