import { HttpException } from '@nestjs/common';
import { errorBody } from './error-body.js';

/**
 * A refusal the client may retry after a while (429 too many requests, 503 overloaded): `HttpErrorFilter` answers it
 * with the usual JSON error body and a `Retry-After` header in whole seconds.
 */
export class RetryLaterException extends HttpException {
  constructor(
    status: 429 | 503,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(errorBody(status, message), status);
  }
}
