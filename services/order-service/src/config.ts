import { tokenVerifierConfigShape } from '@switchyard/auth';
import { messagingConfigShape } from '@switchyard/messaging';
import { baseConfigShape, loadConfig, metricsPortSetting, portSetting } from '@switchyard/service-kit';
import { z } from 'zod';
import { orderCancellationConfigShape } from './customers/order-cancellation-settings.js';

/** Default HTTP port of order-service (user-service is 3001). */
export const DEFAULT_PORT = 3002;

/** Default port of its `/metrics` listener (the user-service's is 9464): Prometheus' own exporter range. */
export const DEFAULT_METRICS_PORT = 9465;

export const orderServiceConfigSchema = z.object({
  ...baseConfigShape,
  ...messagingConfigShape,
  ...orderCancellationConfigShape,
  ...tokenVerifierConfigShape,
  PORT: portSetting(DEFAULT_PORT),
  METRICS_PORT: metricsPortSetting(DEFAULT_METRICS_PORT),
});

export type OrderServiceConfig = z.infer<typeof orderServiceConfigSchema>;

export function loadOrderServiceConfig(env: NodeJS.ProcessEnv = process.env): OrderServiceConfig {
  return loadConfig(orderServiceConfigSchema, env);
}
