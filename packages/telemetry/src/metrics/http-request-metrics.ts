import { Histogram, type Registry } from 'prom-client';
import { registerOnce, safely } from './register-once.js';

export const HTTP_REQUEST_DURATION = 'http_request_duration_seconds';

/** Route label of requests no route matched (404s, and bodies rejected before routing: 413, malformed JSON). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The parts of an Express request and response the middleware reads; structural, so telemetry needs no Express. */
export interface HttpRequestLike {
  method: string;
  baseUrl?: string;
  route?: { path?: unknown };
}
export interface HttpResponseLike {
  statusCode: number;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}
export type HttpMetricsMiddleware = (req: HttpRequestLike, res: HttpResponseLike, next: () => void) => void;

/**
 * Express middleware timing every request into `http_request_duration_seconds{method,route,status_code}`. The route
 * is the matched pattern (`/users/:id`), read when the response ends, never the raw URL: bounded cardinality.
 * Install it before any other middleware so body parsing counts too.
 */
export function httpRequestMetrics(registry: Registry): HttpMetricsMiddleware {
  const duration = registerOnce(
    registry,
    HTTP_REQUEST_DURATION,
    (registers) =>
      new Histogram({
        name: HTTP_REQUEST_DURATION,
        help: 'Duration of HTTP requests, from arrival to the response being sent, by route pattern.',
        labelNames: ['method', 'route', 'status_code'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
  );
  return (req, res, next) => {
    const end = safelyStartTimer(duration);
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      safely(() => end?.({ method: req.method, route: routeOf(req), status_code: String(res.statusCode) }));
    };
    // `finish`: sent; `close` without `finish`: the client went away, still worth timing.
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}

function safelyStartTimer(
  histogram: Histogram<'method' | 'route' | 'status_code'>,
): ((labels: Record<string, string>) => void) | undefined {
  try {
    return histogram.startTimer();
  } catch {
    return undefined;
  }
}

/** A bare catch-all such as Nest's not-found route `{/*splat}` (Express 5) or `*`: no route matched really. */
const CATCH_ALL = /^\/?\{?\/?\*\w*\}?$/;

function routeOf(req: HttpRequestLike): string {
  const path = req.route?.path;
  if (typeof path !== 'string' || CATCH_ALL.test(path)) return UNMATCHED_ROUTE;
  return `${req.baseUrl ?? ''}${path}` || '/';
}
