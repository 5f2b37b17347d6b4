import type { Registry } from 'prom-client';
import { createMetricsRegistry, METRICS_CONTENT_TYPE, type MetricsRegistryOptions } from './metrics-registry.js';

export interface MetricsScrape {
  contentType: string;
  body: string;
}

/**
 * One app's metrics: the registry every instrument of the app registers in. Nest provides it (service-kit's
 * `MetricsModule`) and injects it by this class; plain code can construct it directly.
 */
export class ServiceMetrics {
  readonly registry: Registry;

  constructor(options: MetricsRegistryOptions) {
    this.registry = createMetricsRegistry(options);
  }

  async scrape(): Promise<MetricsScrape> {
    return { contentType: METRICS_CONTENT_TYPE, body: await this.registry.metrics() };
  }
}
