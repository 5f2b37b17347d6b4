import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { type ErrorBody, errorBody } from './error-body.js';

/** Errors thrown by Express' body parser carry an http status and a `type`; we map the ones a client can cause. */
interface BodyParserError {
  status: number;
  type?: string;
  limit?: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' && 'type' in error;
}

/** Express could not percent-decode a path parameter (`/users/%80`): the request's path is at fault, not us. */
function isUndecodablePath(error: unknown): boolean {
  return error instanceof URIError && (error as URIError & { status?: unknown }).status === 400;
}

/** zlib codes (`Z_DATA_ERROR`, …) and Brotli's (`ERR__ERROR_FORMAT_PADDING_1`, …) for bytes that are not what their encoding says. */
const DECOMPRESSION_ERROR_CODE = /^(Z_|ERR_ZLIB|ERR_BROTLI|ERR__ERROR_)/;

/** zlib rejected a body whose Content-Encoding (gzip, deflate, br) does not match its bytes. */
function isUndecodableBody(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && DECOMPRESSION_ERROR_CODE.test(error.code);
}

function toErrorBody(thrown: unknown): ErrorBody {
  const cause = thrown instanceof HttpException ? thrown.cause : undefined;
  // Express' own messages here echo the raw input; ours name the part of the request that is wrong instead.
  if (isUndecodablePath(cause) || isUndecodablePath(thrown)) {
    return errorBody(400, 'request path is not valid percent-encoded UTF-8', [{ field: 'path', message: 'is not valid percent-encoded UTF-8' }]);
  }
  if (isUndecodableBody(cause)) {
    return errorBody(400, 'request body could not be decoded with its Content-Encoding', [{ field: 'body', message: 'does not match its Content-Encoding' }]);
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
        return errorBody(415, 'request body encoding is not supported', [{ field: 'body', message: 'has an unsupported Content-Encoding or charset' }]);
      default:
        if (exception.status >= 400 && exception.status < 500) return errorBody(exception.status, 'request body could not be read', [{ field: 'body', message: 'could not be read' }]);
    }
  }
  return errorBody(500, 'internal server error');
}

/**
 * The one place that shapes error responses: `{statusCode, error, message, details?}` for everything,
 * client mistakes as 4xx, and anything unexpected as a logged 500 that reveals nothing.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = toErrorBody(exception);
    if (body.statusCode >= 500) {
      // nestjs-pino takes the message from `msg` when the first argument is an object (a trailing string would be the context).
      this.logger.error({ msg: 'unhandled error while serving a request', err: exception });
    }
    if (response.headersSent) return;
    response.status(body.statusCode).json(body);
  }
}
