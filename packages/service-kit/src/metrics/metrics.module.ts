import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ServiceMetrics } from '@switchyard/telemetry';
import { MetricsServer } from './metrics-server.js';

export interface MetricsModuleOptions {
  /** The `service` label of every series, e.g. `user-service`. */
  service: string;
  /** `METRICS_PORT`: where `GET /metrics` is served (never on the API port); 0 takes a free port (tests). */
  port: number;
}

/**
 * The app's Prometheus registry (`ServiceMetrics`, injectable anywhere: global) and `GET /metrics` on its own port
 * (`MetricsServer`). `createServiceApp` times HTTP requests into it when the module is imported; messaging adds its
 * own series.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(options: MetricsModuleOptions): DynamicModule {
    return {
      module: MetricsModule,
      providers: [
        { provide: ServiceMetrics, useFactory: () => new ServiceMetrics({ service: options.service }) },
        {
          provide: MetricsServer,
          inject: [ServiceMetrics],
          useFactory: (metrics: ServiceMetrics) => new MetricsServer(metrics, options.port),
        },
      ],
      exports: [ServiceMetrics, MetricsServer],
    };
  }
}
