import {
  type DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { HealthChecks } from '../health/health-checks.js';
import { registerDatabaseChecks } from '../health/database-checks.js';
import { postgresConnectionOptions, type PostgresTimeouts } from './postgres-connection-options.js';

const DATABASE_LOG = new Logger('Database');

/** The part of a service's generated Prisma client the kit uses. */
export interface PrismaClientLike {
  $queryRawUnsafe(query: string): PromiseLike<unknown>;
  $disconnect(): Promise<void>;
}

/** A service's generated `PrismaClient` class (each service generates its own, from its own schema). */
export type PrismaClientClass<C extends PrismaClientLike> = new (options: {
  adapter: PrismaPg;
  errorFormat: 'minimal';
}) => C;

export interface DatabaseSettings {
  /** The service's own database (`DATABASE_URL`). */
  databaseUrl: string;
  /** Connections in the pool (`DATABASE_POOL_MAX`). */
  poolMax: number;
  /** Statement, idle-in-transaction and keepalive timeouts (`postgresTimeoutsOf(config)`); defaults when left out. */
  timeouts?: PostgresTimeouts;
  /** `application_name` of its connections (pg_stat_activity); default `prisma`. */
  applicationName?: string;
  /** The service's `prisma/schema.prisma`; its migrations sit beside it (the startup probe checks them). */
  schemaPath: string;
}

const DATABASE_CLIENT = Symbol('DATABASE_CLIENT');
const DATABASE_SETTINGS = Symbol('DATABASE_SETTINGS');

/**
 * A service's database, through Prisma's query compiler and the pg driver adapter (no engine binary):
 * `DatabaseModule.forPrisma(PrismaClient, settings)` provides the service's generated `PrismaClient` class as itself
 * (handlers inject `PrismaClient`), adds the readiness and migration checks, and disconnects at shutdown. Global.
 */
@Global()
@Module({})
export class DatabaseModule implements OnModuleInit, OnApplicationShutdown {
  static forPrisma<C extends PrismaClientLike>(
    client: PrismaClientClass<C>,
    settings: DatabaseSettings,
  ): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE_SETTINGS, useValue: settings },
        // 'minimal' keeps call arguments (which can include a password hash) out of error messages, and so out of logs.
        { provide: client, useFactory: () => new client({ adapter: pgAdapter(settings), errorFormat: 'minimal' }) },
        { provide: DATABASE_CLIENT, useExisting: client },
      ],
      exports: [client],
    };
  }

  constructor(
    @Inject(DATABASE_CLIENT) private readonly client: PrismaClientLike,
    private readonly checks: HealthChecks,
    @Inject(DATABASE_SETTINGS) private readonly settings: DatabaseSettings,
  ) {}

  onModuleInit(): void {
    registerDatabaseChecks(this.checks, {
      ping: async () => await this.client.$queryRawUnsafe('SELECT 1'),
      databaseUrl: this.settings.databaseUrl,
      schemaPath: this.settings.schemaPath,
    });
  }

  /** After the HTTP listener has drained (Nest closes it before shutdown hooks), so in-flight requests still have their database. */
  async onApplicationShutdown(): Promise<void> {
    await this.client.$disconnect();
  }
}

function pgAdapter(settings: DatabaseSettings): PrismaPg {
  // A terminated backend or a restarted server errors the pool's connections; heard (and logged), never fatal.
  // The next query on a fresh connection decides whether the database is really gone.
  return new PrismaPg(
    // A connect that hangs (a blackholed link) fails after 5 s and becomes a 503, instead of holding the request forever;
    // a query gets the statement timeout, and a transaction its client abandoned is ended by the server.
    postgresConnectionOptions(
      settings.databaseUrl,
      { applicationName: settings.applicationName ?? 'prisma', max: settings.poolMax },
      settings.timeouts,
    ),
    {
      onPoolError: (error) => DATABASE_LOG.warn(`idle database connection failed: ${error.message}`),
      onConnectionError: (error) =>
        DATABASE_LOG.warn(`database connection failed during a transaction: ${error.message}`),
    },
  );
}
