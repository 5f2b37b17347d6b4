import { collectDefaultMetrics, Registry } from 'prom-client';

/** What `GET /metrics` answers with: Prometheus text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * prom-client's defaults include gauges named `*_total`, which Prometheus reserves for counters (`promtool check
 * metrics` flags them). The per-type `nodejs_active_handles`/`_requests`/`_resources` gauges carry the same numbers.
 */
const NON_CONFORMING_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export interface MetricsRegistryOptions {
  /** Becomes the `service` label of every series. */
  service: string;
  /** Node process and runtime metrics (CPU, memory, event loop, GC); default true. */
  defaultMetrics?: boolean;
}

/** A registry of its own per app (not prom-client's global one), so two apps in one process never collide. */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of NON_CONFORMING_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  return registry;
}
