import { afterEach, describe, expect, it } from '@jest/globals';
import { OperatorMetrics } from '../operator-metrics.js';
import { OperatorHttpServer, type Readiness } from './operator-http-server.js';

let server: OperatorHttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(readiness: () => Readiness): Promise<string> {
  const metrics = new OperatorMetrics();
  metrics.observeReconcile('success', 0.02);
  metrics.trackQueueDepth(() => 4);
  server = new OperatorHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, readiness });
  return `http://127.0.0.1:${await server.listen()}`;
}

describe('OperatorHttpServer', () => {
  it('answers /healthz with 200 whatever the readiness', async () => {
    const base = await serve(() => ({ ready: false, detail: {} }));
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 503 and the reason until ready, then 200', async () => {
    let ready = false;
    const base = await serve(() => ({ ready, detail: { informerSynced: ready, leader: false } }));
    const before = await fetch(`${base}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({ status: 'not ready', informerSynced: false, leader: false });
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('serves the metrics in Prometheus text format with the contract names', async () => {
    const base = await serve(() => ({ ready: true, detail: {} }));
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^reconcile_total\{result="success",service="switchyard-topology-operator"\} 1$/m);
    expect(text).toMatch(/^reconcile_total\{result="error",service="switchyard-topology-operator"\} 0$/m);
    expect(text).toMatch(/^reconcile_duration_seconds_count\{service="switchyard-topology-operator"\} 1$/m);
    expect(text).toMatch(/^topology_operator_leader\{service="switchyard-topology-operator"\} 0$/m);
    expect(text).toMatch(/^topology_operator_workqueue_depth\{service="switchyard-topology-operator"\} 4$/m);
  });

  it('answers unknown paths with 404 and other methods with 405, as JSON naming the problem', async () => {
    const base = await serve(() => ({ ready: true, detail: {} }));
    const missing = await fetch(`${base}/health`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no route /health; try /healthz, /readyz or /metrics' });
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await post.json()).toEqual({ error: 'POST not allowed on /metrics; use GET' });
  });
});
