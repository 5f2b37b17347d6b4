import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ServiceMetrics } from '@switchyard/telemetry';
import { MetricsController } from './metrics.controller.js';

export interface MetricsModuleOptions {
  /** The `service` label of every series, e.g. `user-service`. */
  service: string;
}

/**
 * The app's Prometheus registry (`ServiceMetrics`, injectable anywhere: global) and `GET /metrics`.
 * `createServiceApp` times HTTP requests into it when the module is imported; messaging adds its own series.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(options: MetricsModuleOptions): DynamicModule {
    return {
      module: MetricsModule,
      controllers: [MetricsController],
      providers: [{ provide: ServiceMetrics, useFactory: () => new ServiceMetrics({ service: options.service }) }],
      exports: [ServiceMetrics],
    };
  }
}
