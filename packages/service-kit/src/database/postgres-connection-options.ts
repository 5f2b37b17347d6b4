/**
 * The one place every Postgres connection of a service gets its timeouts from: the Prisma pool (DatabaseModule),
 * and messaging's outbox relay, LISTEN client and outbox metrics. Without them a query on a silently dead link, or a
 * transaction whose client went away, holds its locks forever while the pod looks healthy.
 */

/** `statement_timeout`: 30 s. Nothing we run on these connections legitimately takes longer; a hung query must not. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
/**
 * `idle_in_transaction_session_timeout`: 30 s. The longest legitimate idle stretch inside a transaction is the relay
 * awaiting publisher confirms (10 s); Prisma ends its own interactive transactions after 5 s. A client that vanished
 * mid-transaction has its session ended by the server, so its row locks are released.
 */
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;
/** TCP keepalive starts probing an idle connection after 10 s (Node then probes every second, 10 times). */
export const DEFAULT_KEEPALIVE_DELAY_MS = 10_000;
/** How long a new connection (or a wait for a free one in a pool) may take; pg waits forever by default. */
export const DATABASE_CONNECT_TIMEOUT_MS = 5_000;
/**
 * The client gives up on a query this long after the server's statement timeout: the server's own, clearer error
 * (57014) normally comes first; this one only fires when no answer can come at all (a blackholed link).
 */
export const QUERY_TIMEOUT_MARGIN_MS = 5_000;

/** Timeouts of a Postgres connection; each one left out takes its default. */
export interface PostgresTimeouts {
  /** `DATABASE_STATEMENT_TIMEOUT_MS`; default {@link DEFAULT_STATEMENT_TIMEOUT_MS}. */
  statementTimeoutMs?: number;
  /** `DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS`; default {@link DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS}. */
  idleInTransactionTimeoutMs?: number;
  /** `DATABASE_KEEPALIVE_DELAY_MS`; default {@link DEFAULT_KEEPALIVE_DELAY_MS}. */
  keepAliveDelayMs?: number;
}

/** The variables of `baseConfigShape` the timeouts come from (optional: a config without them gets the defaults). */
export interface PostgresTimeoutsConfig {
  DATABASE_STATEMENT_TIMEOUT_MS?: number;
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS?: number;
  DATABASE_KEEPALIVE_DELAY_MS?: number;
}

/** pg's `Pool`/`Client` options (and `PrismaPg`'s), as far as we set them. */
export interface PostgresConnectionOptions {
  connectionString: string;
  application_name: string;
  max?: number;
  connectionTimeoutMillis: number;
  keepAlive: true;
  keepAliveInitialDelayMillis: number;
  statement_timeout: number;
  idle_in_transaction_session_timeout: number;
  query_timeout: number;
}

export function postgresTimeoutsOf(config: PostgresTimeoutsConfig): PostgresTimeouts {
  return {
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAliveDelayMs: config.DATABASE_KEEPALIVE_DELAY_MS,
  };
}

/**
 * Options for a pg `Pool`, `Client` or `PrismaPg` on `databaseUrl`. The server-side timeouts go in the startup
 * packet, so they hold from the first statement (behind PgBouncer, allow them with `ignore_startup_parameters`).
 */
export function postgresConnectionOptions(
  databaseUrl: string,
  connection: { applicationName: string; max?: number },
  timeouts: PostgresTimeouts = {},
): PostgresConnectionOptions {
  const statementTimeoutMs = timeouts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return {
    connectionString: databaseUrl,
    application_name: connection.applicationName,
    ...(connection.max === undefined ? {} : { max: connection.max }),
    connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: timeouts.keepAliveDelayMs ?? DEFAULT_KEEPALIVE_DELAY_MS,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
  };
}
