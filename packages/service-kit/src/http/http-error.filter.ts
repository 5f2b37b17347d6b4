import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { type ErrorBody, errorBody } from './error-body.js';
import { RetryLaterException } from './retry-later.exception.js';

/** Errors thrown by Express' body parser carry an http status and a `type`; we map the ones a client can cause. */
interface BodyParserError {
  status: number;
  type?: string;
  limit?: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    typeof error === 'object' &&
    error !== null &&
    'status' in error &&
    typeof error.status === 'number' &&
    'type' in error
  );
}

/** Express could not percent-decode a path parameter (`/users/%80`): the request's path is at fault, not us. */
function isUndecodablePath(error: unknown): boolean {
  return error instanceof URIError && (error as URIError & { status?: unknown }).status === 400;
}

/** zlib codes (`Z_DATA_ERROR`, …) and Brotli's (`ERR__ERROR_FORMAT_PADDING_1`, …) for bytes that are not what their encoding says. */
const DECOMPRESSION_ERROR_CODE = /^(Z_|ERR_ZLIB|ERR_BROTLI|ERR__ERROR_)/;

/** zlib rejected a body whose Content-Encoding (gzip, deflate, br) does not match its bytes. */
function isUndecodableBody(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    DECOMPRESSION_ERROR_CODE.test(error.code)
  );
}

/** Seconds a client is told to wait (`Retry-After`) when the database is unavailable: a restart or failover. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
export const DATABASE_UNAVAILABLE_MESSAGE = 'database unavailable, retry later';

/**
 * Postgres SQLSTATEs that mean "no database right now" rather than "this request is wrong": class 08 (connection
 * exception, except 08P01 protocol_violation, which is our bug, not an outage), admin_shutdown / crash_shutdown /
 * cannot_connect_now (a restart or a terminated backend), and too_many_connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08(?!P01)[0-9A-Z]{3}|57P01|57P02|57P03|53300)$/;
/**
 * Socket errors on the way to the database (pg and @prisma/adapter-pg pass Node's codes through). The HTTP handlers
 * call nothing but the database today; one that calls another service must map that service's errors itself.
 */
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/**
 * Prisma: P1001 can't reach the server, P1002 reached but timed out, P1017 server closed the connection, P2024 no
 * pool connection in time.
 */
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);
/** What @prisma/adapter-pg calls these (`meta.driverAdapterError.cause.kind`), also inside P2010 "raw query failed". */
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
/** pg and pg-pool errors without a code: the socket went away mid-query, or a connect timed out. */
const UNAVAILABLE_PG_MESSAGE =
  /^(Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout exceeded when trying to connect)$/;

/**
 * Whether `error` (or what it wraps: `cause`, Prisma's driver adapter error, an AggregateError's members) says the
 * database cannot be reached right now. Such a request may well succeed in a few seconds: 503, not 500.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const { code, message, cause, meta, kind, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: unknown;
    kind?: unknown;
    errors?: unknown;
  };
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SOCKET_CODES.has(code) || UNAVAILABLE_PRISMA_CODES.has(code))
  )
    return true;
  if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true;
  if (typeof message === 'string' && UNAVAILABLE_PG_MESSAGE.test(message)) return true;
  const adapterError =
    typeof meta === 'object' && meta !== null
      ? (meta as { driverAdapterError?: unknown }).driverAdapterError
      : undefined;
  const wrapped = [cause, adapterError, ...(Array.isArray(errors) ? errors : [])];
  return wrapped.some((inner) => inner !== error && isDatabaseUnavailable(inner, depth + 1));
}

function toErrorBody(thrown: unknown): ErrorBody {
  const cause = thrown instanceof HttpException ? thrown.cause : undefined;
  // Express' own messages here echo the raw input; ours name the part of the request that is wrong instead.
  if (isUndecodablePath(cause) || isUndecodablePath(thrown)) {
    return errorBody(400, 'request path is not valid percent-encoded UTF-8', [
      { field: 'path', message: 'is not valid percent-encoded UTF-8' },
    ]);
  }
  if (isUndecodableBody(cause)) {
    return errorBody(400, 'request body could not be decoded with its Content-Encoding', [
      { field: 'body', message: 'does not match its Content-Encoding' },
    ]);
  }
  // Nest wraps Express' body-parser errors in an HttpException; the original says what went wrong.
  const exception = thrown instanceof HttpException && isBodyParserError(cause) ? cause : thrown;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'object' && response !== null && 'message' in response && 'statusCode' in response) {
      const { message, details } = response as { message: unknown; details?: ErrorBody['details'] };
      // Nest's own exceptions may carry a list of messages; ours carry one sentence and details.
      const text = Array.isArray(message) ? message.join('; ') : String(message);
      return errorBody(status, text, details);
    }
    return errorBody(status, typeof response === 'string' ? response : exception.message);
  }
  if (isBodyParserError(exception)) {
    switch (exception.type) {
      case 'entity.too.large':
        return errorBody(413, `request body is larger than the limit of ${exception.limit ?? 'the configured'} bytes`);
      case 'entity.parse.failed':
        return errorBody(400, 'request body is not valid JSON', [{ field: 'body', message: 'malformed JSON' }]);
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return errorBody(415, 'request body encoding is not supported', [
          { field: 'body', message: 'has an unsupported Content-Encoding or charset' },
        ]);
      default:
        if (exception.status >= 400 && exception.status < 500)
          return errorBody(exception.status, 'request body could not be read', [
            { field: 'body', message: 'could not be read' },
          ]);
    }
  }
  if (isDatabaseUnavailable(thrown)) return errorBody(503, DATABASE_UNAVAILABLE_MESSAGE);
  return errorBody(500, 'internal server error');
}

/**
 * The one place that shapes error responses: `{statusCode, error, message, details?}` for everything,
 * client mistakes as 4xx, a database that cannot be reached as 503 with `Retry-After` (a `RetryLaterException` too), and anything unexpected as
 * a logged 500 that reveals nothing.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = toErrorBody(exception);
    const databaseUnavailable = body.statusCode === 503 && body.message === DATABASE_UNAVAILABLE_MESSAGE;
    if (databaseUnavailable) {
      // Expected while the database restarts or fails over (readiness reports it too): a warning, not an error.
      this.logger.warn({ msg: 'database unavailable while serving a request', err: exception });
    } else if (body.statusCode >= 500) {
      // nestjs-pino takes the message from `msg` when the first argument is an object (a trailing string would be the context).
      this.logger.error({ msg: 'unhandled error while serving a request', err: exception });
    }
    if (response.headersSent) return;
    if (databaseUnavailable) response.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
    if (exception instanceof RetryLaterException)
      response.setHeader('Retry-After', String(exception.retryAfterSeconds));
    response.status(body.statusCode).json(body);
  }
}
