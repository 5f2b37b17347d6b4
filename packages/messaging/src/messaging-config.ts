import { z } from 'zod';
import { DEFAULT_MAX_MESSAGE_BYTES } from './consumer/message-size-limit.js';
import { DEFAULT_OUTBOX_UNROUTABLE_MAX_ATTEMPTS } from './publishing/outbox-failed-publish.js';
import { DEFAULT_RELAY_STUCK_AFTER_MS } from './publishing/relay-watchdog.js';

/**
 * The environment variables messaging reads, for a service's config schema to compose:
 * `z.object({ ...baseConfigShape, ...messagingConfigShape, PORT: portSetting(3001) })`. The names and defaults are a
 * public contract: the charts set them.
 */
export const messagingConfigShape = {
  /** RabbitMQ connection URL (`amqp://user:pass@host:5672/vhost`). Required: events are how services talk. */
  RABBITMQ_URL: z.url({ protocol: /^amqps?$/, error: 'must be an amqp:// or amqps:// URL' }),
  /**
   * PEM file of the CA(s) that signed the broker's TLS certificate, for an `amqps://` RABBITMQ_URL (the chart mounts
   * it from a Secret or ConfigMap). Unset: the system's trusted CAs. Certificates are always verified.
   */
  RABBITMQ_CA_FILE: z.string().min(1).optional(),
  /** Topic exchange all events go through; changed only to isolate environments (or tests) sharing a vhost. */
  RABBITMQ_EXCHANGE: z
    .string()
    .regex(/^[\w.:-]{1,255}$/, { error: 'must be an exchange name (letters, digits, . _ - :)' })
    .default('switchyard.events'),
  /**
   * Retry back-off tiers for failed event handlers, in ms, comma-separated; after the last one the event is
   * dead-lettered. Default 1 s, 5 s, 30 s, 2 min, 10 min: covers blips and short outages without hiding real bugs for long.
   */
  MESSAGING_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, { error: 'must be a comma-separated list of milliseconds, e.g. 1000,5000,30000' })
    .transform((list) => list.split(',').map(Number))
    .default([1_000, 5_000, 30_000, 120_000, 600_000]),
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
  /**
   * Largest message body the consumer parses, in bytes; a larger one is dead-lettered as `message_too_large` without
   * being parsed. Default 1 MiB: about 90 times the largest legitimate event (see `DEFAULT_MAX_MESSAGE_BYTES`). At
   * most 128 MiB, RabbitMQ's own ceiling; keep it under the broker's `max_message_size` (8 MiB in the chart).
   */
  MESSAGING_MAX_MESSAGE_BYTES: z.coerce
    .number({ error: 'must be a number of bytes' })
    .int({ error: 'must be a whole number of bytes' })
    .min(1024, { error: 'must be between 1024 and 134217728' })
    .max(128 * 1024 * 1024, { error: 'must be between 1024 and 134217728' })
    .default(DEFAULT_MAX_MESSAGE_BYTES),
  /**
   * The relay watchdog's limit, in ms: a relay that has made no progress this long (a batch hung on the database or
   * the broker) fails `/health/live`, so Kubernetes restarts the pod. Default 2 min: well above the 30 s statement
   * timeout and the publish confirm timeout, so a slow but moving relay is never restarted.
   */
  MESSAGING_RELAY_STUCK_AFTER_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(1_000, { error: 'must be between 1000 and 3600000' })
    .max(3_600_000, { error: 'must be between 1000 and 3600000' })
    .default(DEFAULT_RELAY_STUCK_AFTER_MS),
  /**
   * Publish attempts the relay makes for an outbox row no queue binds (unroutable) before parking it: a parked row is
   * never claimed again (`messaging_outbox_parked_rows`, `switchyard outbox list | retry | discard`). Default 20, about
   * 15 min of back-off: a consumer whose queue is declared a few minutes late still gets the event (see
   * `DEFAULT_OUTBOX_UNROUTABLE_MAX_ATTEMPTS`). Other publish failures (nack, timeout) retry without a bound.
   */
  MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS: z.coerce
    .number({ error: 'must be a number of attempts' })
    .int({ error: 'must be a whole number of attempts' })
    .min(1, { error: 'must be between 1 and 1000' })
    .max(1_000, { error: 'must be between 1 and 1000' })
    .default(DEFAULT_OUTBOX_UNROUTABLE_MAX_ATTEMPTS),
  /**
   * The database the outbox relay and its LISTEN connection use, when it must differ from `DATABASE_URL`: behind a
   * transaction-pooling PgBouncer (LISTEN and the relay's claim transaction want a session of their own), or to
   * route the relay's link separately (the fault suite blackholes only that link). Unset: `DATABASE_URL`. It must
   * reach the same database: the relay reads the outbox the service writes.
   */
  MESSAGING_RELAY_DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
};

/** Messaging's settings as read from the environment. */
export type MessagingConfig = z.infer<z.ZodObject<typeof messagingConfigShape>>;
