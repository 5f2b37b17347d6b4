import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
import { type Observable, throwError } from 'rxjs';

/**
 * Hands a handler's error to the Switchyard transport unchanged. Without it Nest's default RPC filter replaces any
 * error that is not an `RpcException` with `{ status: 'error', message: 'Internal server error' }`: messages are
 * still retried, but `x-last-error`, `x-error-class` and `x-error-message` then say nothing useful. Register it on
 * the microservice (`microservice.useGlobalFilters(new SwitchyardExceptionFilter())`) or per controller with
 * `@UseFilters`. The transport logs every failure itself, so nothing goes unreported.
 */
@Catch()
export class SwitchyardExceptionFilter implements RpcExceptionFilter<unknown, never> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
