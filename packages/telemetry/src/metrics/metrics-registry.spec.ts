import { describe, expect, it } from '@jest/globals';
import { promtoolProblems } from '@switchyard/testing';
import { Counter } from 'prom-client';
import { createMetricsRegistry, METRICS_CONTENT_TYPE } from './metrics-registry.js';
import { registerOnce } from './register-once.js';
import { ServiceMetrics } from './service-metrics.js';

const seriesLines = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

describe('createMetricsRegistry', () => {
  it('labels every series, runtime defaults included, with the service', async () => {
    const registry = createMetricsRegistry({ service: 'test-service' });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    const lines = seriesLines(text);
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) expect(line).toMatch(/\{(.*,)?service="test-service"/);
  });

  it('passes promtool check metrics, defaults included', async () => {
    const registry = createMetricsRegistry({ service: 'test-service' });
    expect(await promtoolProblems(await registry.metrics())).toBe('');
  });

  it('keeps two apps in one process apart', async () => {
    const a = new ServiceMetrics({ service: 'a', defaultMetrics: false });
    const b = new ServiceMetrics({ service: 'b', defaultMetrics: false });
    registerOnce(
      a.registry,
      'things_total',
      (registers) => new Counter({ name: 'things_total', help: 'Things.', registers }),
    ).inc();
    const scrape = await a.scrape();
    expect(scrape.contentType).toBe(METRICS_CONTENT_TYPE);
    expect(scrape.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(seriesLines(scrape.body)).toEqual(['things_total{service="a"} 1']);
    expect(seriesLines((await b.scrape()).body)).toEqual([]);
  });

  it('registerOnce returns the metric already registered under that name', () => {
    const { registry } = new ServiceMetrics({ service: 'a', defaultMetrics: false });
    const create = (registers: (typeof registry)[]) =>
      new Counter({ name: 'things_total', help: 'Things.', registers });
    expect(registerOnce(registry, 'things_total', create)).toBe(registerOnce(registry, 'things_total', create));
  });
});
