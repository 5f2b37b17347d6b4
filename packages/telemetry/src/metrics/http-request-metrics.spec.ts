import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { httpRequestMetrics, type HttpRequestLike } from './http-request-metrics.js';
import { createMetricsRegistry } from './metrics-registry.js';

class FakeResponse extends EventEmitter {
  statusCode = 200;
}

/** Runs one request through the middleware: routing (if any) happens before the response finishes, as in Express. */
function serve(
  middleware: ReturnType<typeof httpRequestMetrics>,
  req: HttpRequestLike,
  status: number,
  route?: string,
): void {
  const res = new FakeResponse();
  middleware(req, res, () => {
    if (route !== undefined) req.route = { path: route };
    res.statusCode = status;
    res.emit('finish');
    res.emit('close');
  });
}

describe('httpRequestMetrics', () => {
  it('times requests by method, route pattern and status, once each', async () => {
    const registry = createMetricsRegistry({ service: 'svc', defaultMetrics: false });
    const middleware = httpRequestMetrics(registry);
    serve(middleware, { method: 'GET' }, 200, '/users/:id');
    serve(middleware, { method: 'GET' }, 404, '/users/:id');
    serve(middleware, { method: 'GET' }, 200, '/users/:id');
    serve(middleware, { method: 'GET', baseUrl: '/v1' }, 201, '/orders');
    serve(middleware, { method: 'GET' }, 404);
    // Nest's not-found handler is a catch-all route in Express 5.
    serve(middleware, { method: 'GET' }, 404, '{/*splat}');
    serve(middleware, { method: 'POST' }, 413);
    const text = await registry.metrics();
    expect(text).toContain(
      'http_request_duration_seconds_count{service="svc",method="GET",route="/users/:id",status_code="200"} 2',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{service="svc",method="GET",route="/users/:id",status_code="404"} 1',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{service="svc",method="GET",route="/v1/orders",status_code="201"} 1',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{service="svc",method="GET",route="unmatched",status_code="404"} 2',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{service="svc",method="POST",route="unmatched",status_code="413"} 1',
    );
  });

  it('never throws into the request, even with its registry cleared', () => {
    const registry = createMetricsRegistry({ service: 'svc', defaultMetrics: false });
    const middleware = httpRequestMetrics(registry);
    registry.clear();
    expect(() => serve(middleware, { method: 'GET' }, 200, '/x')).not.toThrow();
    // Two apps (or a re-created one) sharing a registry share the histogram.
    expect(() => httpRequestMetrics(registry)).not.toThrow();
    expect(() => httpRequestMetrics(registry)).not.toThrow();
  });
});
