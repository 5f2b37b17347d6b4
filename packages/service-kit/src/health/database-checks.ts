import { migrationStatus } from '@switchyard/db-migrate';
import type { HealthChecks } from './health-checks.js';

export interface DatabaseChecksOptions {
  /** A cheap round trip to the database (`SELECT 1`). */
  ping: () => Promise<unknown>;
  databaseUrl: string;
  /** The service's `prisma/schema.prisma`; its migrations sit beside it. */
  schemaPath: string;
}

/**
 * Readiness depends on the database answering; startup on every migration shipped with this build being applied
 * (the chart's migration Job applies them; until then the pod must not take traffic).
 */
export function registerDatabaseChecks(checks: HealthChecks, options: DatabaseChecksOptions): void {
  checks.addReadinessCheck('database', async () => {
    await options.ping();
  });
  checks.addStartupCheck('migrations', async () => {
    const status = await migrationStatus({ databaseUrl: options.databaseUrl, schemaPath: options.schemaPath });
    if (status.failed.length > 0) throw new Error(`failed migrations: ${status.failed.join(', ')}`);
    if (status.pending.length > 0) throw new Error(`pending migrations: ${status.pending.join(', ')}`);
  });
}
