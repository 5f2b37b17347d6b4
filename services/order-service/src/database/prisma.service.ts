import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { SERVICE_CONFIG } from '../service-config.token.js';
import type { OrderServiceConfig } from '../config.js';

const DATABASE_LOG = new Logger('Database');

/** How long a new database connection may take before the query waiting for it fails. */
const DATABASE_CONNECT_TIMEOUT_MS = 5_000;

/** The order database, through Prisma's query compiler and the pg driver adapter (no engine binary). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(@Inject(SERVICE_CONFIG) config: OrderServiceConfig) {
    // A terminated backend or a restarted server errors the pool's connections; heard (and logged), never fatal.
    // The next query on a fresh connection decides whether the database is really gone.
    const adapter = new PrismaPg(
      // A connect that hangs (a blackholed link) fails after 5 s and becomes a 503, instead of holding the request forever.
      {
        connectionString: config.DATABASE_URL,
        max: config.DATABASE_POOL_MAX,
        connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
      },
      {
        onPoolError: (error) => DATABASE_LOG.warn(`idle database connection failed: ${error.message}`),
        onConnectionError: (error) =>
          DATABASE_LOG.warn(`database connection failed during a transaction: ${error.message}`),
      },
    );
    // 'minimal' keeps call arguments (which can include a password hash) out of error messages, and so out of logs.
    super({ adapter, errorFormat: 'minimal' });
  }

  /** After the HTTP listener has drained (Nest closes it before shutdown hooks), so in-flight requests still have their database. */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
