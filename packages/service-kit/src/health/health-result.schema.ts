import { z } from 'zod';

/** One indicator per dependency (`database`, `rabbitmq`, `lifecycle`, …): its status and whatever it adds. */
const indicators = z.record(z.string(), z.looseObject({ status: z.enum(['up', 'degraded', 'down']) }));

/** Body of `GET /health/*` (Terminus' HealthCheckResult), 200 and 503 alike; documented in OpenAPI from this schema. */
export const healthResultSchema = z.object({
  status: z.enum(['ok', 'error', 'degraded', 'shutting_down']),
  info: indicators.optional(),
  error: indicators.optional(),
  details: indicators,
});
export type HealthResult = z.output<typeof healthResultSchema>;
