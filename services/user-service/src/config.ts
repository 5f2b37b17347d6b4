import { baseConfigShape, loadConfig, portSetting } from '@switchyard/service-kit';
import { z } from 'zod';

/** Default HTTP port of user-service (order-service is 3002). */
export const DEFAULT_PORT = 3001;

export const userServiceConfigSchema = z.object({
  ...baseConfigShape,
  PORT: portSetting(DEFAULT_PORT),
  /**
   * Directory holding the live consumer policy `<queue>.json` (the topology operator's ConfigMap, mounted at
   * /etc/switchyard/consumer-policy by the chart). Unset: the code defaults (MESSAGING_RETRY_DELAYS_MS, prefetch 20).
   */
  CONSUMER_POLICY_DIR: z.string().min(1).optional(),
  /** How often the policy file is re-read, in ms. 2 s: changes apply within seconds of the kubelet updating the volume. */
  CONSUMER_POLICY_POLL_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(100, { error: 'must be between 100 and 600000' })
    .max(600_000, { error: 'must be between 100 and 600000' })
    .default(2_000),
});

export type UserServiceConfig = z.infer<typeof userServiceConfigSchema>;

export function loadUserServiceConfig(env: NodeJS.ProcessEnv = process.env): UserServiceConfig {
  return loadConfig(userServiceConfigSchema, env);
}
