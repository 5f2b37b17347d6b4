import { tokenIssuerConfigShape } from '@switchyard/auth';
import { messagingConfigShape } from '@switchyard/messaging';
import { baseConfigShape, loadConfig, metricsPortSetting, portSetting } from '@switchyard/service-kit';
import { z } from 'zod';
import { abuseLimitsConfigShape } from './abuse-limits/index.js';

/** Default HTTP port of user-service (order-service is 3002). */
export const DEFAULT_PORT = 3001;

/** Default port of its `/metrics` listener (the order-service's is 9465): Prometheus' own exporter range. */
export const DEFAULT_METRICS_PORT = 9464;

export const userServiceConfigSchema = z.object({
  ...baseConfigShape,
  ...messagingConfigShape,
  ...abuseLimitsConfigShape,
  ...tokenIssuerConfigShape,
  PORT: portSetting(DEFAULT_PORT),
  METRICS_PORT: metricsPortSetting(DEFAULT_METRICS_PORT),
});

export type UserServiceConfig = z.infer<typeof userServiceConfigSchema>;

export function loadUserServiceConfig(env: NodeJS.ProcessEnv = process.env): UserServiceConfig {
  return loadConfig(userServiceConfigSchema, env);
}
