/** The outbox relay's own pool: one claim transaction at a time, and one connection for the retention purges. */
export const RELAY_POOL_MAX = 2;
/** The relay's LISTEN connection for the outbox's NOTIFY hints. */
export const OUTBOX_LISTENER_CONNECTIONS = 1;
/** The outbox metrics' sampling connection. */
export const OUTBOX_METRICS_POOL_MAX = 1;
/**
 * Postgres connections messaging opens per process beside the service's own pool (`DATABASE_POOL_MAX`). The charts'
 * connection budget (k8s/test/connection-budget.spec.ts) counts them.
 */
export const MESSAGING_DATABASE_CONNECTIONS = RELAY_POOL_MAX + OUTBOX_LISTENER_CONNECTIONS + OUTBOX_METRICS_POOL_MAX;
