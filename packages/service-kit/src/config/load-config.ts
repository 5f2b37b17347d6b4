import { z } from 'zod';
import {
  DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_DELAY_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
} from '../database/postgres-connection-options.js';

/** Raised when the environment does not hold a valid configuration; its message is one line naming each bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Variables every Switchyard service reads. Services extend this shape with their own and with those of the
 * libraries they use (`messagingConfigShape` of `@switchyard/messaging`).
 */
export const baseConfigShape = {
  /** Postgres connection URL of the service's own database. Required: there is no safe default. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }),
  /**
   * Connections in the service's Prisma pool. 25: up to 20 event handlers hold a transaction each (the transport's
   * prefetch) and HTTP requests need room beside them; pg's default of 10 would make handlers queue and time out.
   */
  DATABASE_POOL_MAX: z.coerce.number({ error: 'must be a number of connections' }).int().min(2).max(500).default(25),
  /**
   * `statement_timeout` of every database connection (the Prisma pool and messaging's): a longer query fails with
   * SQLSTATE 57014 instead of hanging. 30 s: nothing the services run takes that long.
   */
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .min(100)
    .max(3_600_000)
    .default(DEFAULT_STATEMENT_TIMEOUT_MS),
  /**
   * `idle_in_transaction_session_timeout` of every database connection: the server ends a session idle this long
   * inside a transaction (its client gone or stuck), releasing its locks. 30 s, above the relay's 10 s confirm wait.
   */
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .min(100)
    .max(3_600_000)
    .default(DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS),
  /** TCP keepalive delay of every database connection: a dead idle link is noticed about 10 s after this. 10 s. */
  DATABASE_KEEPALIVE_DELAY_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .min(1_000)
    .max(3_600_000)
    .default(DEFAULT_KEEPALIVE_DELAY_MS),
  /** Pino level; `info` in production keeps one line per request. */
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /**
   * Bearer token that unlocks the full details of `/health/*` (dependency error messages, consumer settings). Unset:
   * every caller, probes included, sees each indicator's status only. At least 16 characters; keep it in a Secret.
   */
  HEALTH_DETAIL_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  /**
   * Serve the OpenAPI UI and documents at `/docs`. Default true (local development); the charts set false, so a
   * deployed API does not hand its map to whoever reaches it.
   */
  API_DOCS_ENABLED: z.stringbool({ error: 'must be true or false' }).default(true),
  /** Largest JSON body accepted, in bytes; bigger bodies get 413. 100 KiB is plenty for our payloads. */
  BODY_LIMIT_BYTES: z.coerce
    .number({ error: 'must be a number of bytes' })
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(100 * 1024),
  /**
   * Wait between turning readiness to 503 and closing the listener, so Kubernetes can take the pod out of its
   * endpoints first. 0 locally; the charts set a few seconds.
   */
  SHUTDOWN_DELAY_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).max(30_000).default(0),
  /**
   * Hard stop for closing (counted after SHUTDOWN_DELAY_MS): past it the process exits 1. 9 s keeps our 10 s promise
   * with no delay, and delay + timeout inside the pod's termination grace period (the charts set 5 s + 9 s < 20 s).
   */
  SHUTDOWN_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .min(100)
    .max(120_000)
    .default(9_000),
};

/** TCP port for the HTTP listener, with the service's own default. */
export function portSetting(defaultPort: number) {
  return z.coerce
    .number({ error: 'must be a port number' })
    .int({ error: 'must be an integer port number' })
    .min(1, { error: 'must be between 1 and 65535' })
    .max(65535, { error: 'must be between 1 and 65535' })
    .default(defaultPort);
}

/**
 * TCP port of the separate `/metrics` listener, with the service's own default (user-service 9464, order-service
 * 9465). 0 takes a free port, for tests running several apps at once.
 */
export function metricsPortSetting(defaultPort: number) {
  return z.coerce
    .number({ error: 'must be a port number' })
    .int({ error: 'must be an integer port number' })
    .min(0, { error: 'must be between 0 and 65535' })
    .max(65535, { error: 'must be between 0 and 65535' })
    .default(defaultPort);
}

/**
 * Validates `env` against `schema`. Values are never echoed back in the error: some are secrets.
 * Empty strings count as unset, as they do for most twelve-factor tooling.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    const missing = issue.code === 'invalid_type' && present[variable] === undefined;
    return `${variable} ${missing ? 'is required but not set' : issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}
