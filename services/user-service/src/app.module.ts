import { type DynamicModule, Module } from '@nestjs/common';
import type { TokenIssuer } from '@switchyard/auth';
import { MessagingModule } from '@switchyard/messaging';
import { HealthModule, MetricsModule, postgresTimeoutsOf } from '@switchyard/service-kit';
import { DatabaseModule } from '@switchyard/service-kit/database';
import { loggerOptions } from '@switchyard/telemetry';
import { LoggerModule } from 'nestjs-pino';
import { fileURLToPath } from 'node:url';
import { AbuseLimitsModule } from './abuse-limits/index.js';
import type { UserServiceConfig } from './config.js';
import { PrismaClient } from './generated/prisma/client.js';
import { AdminEmailsModule } from './auth/admin-emails.js';
import { UserAuthModule } from './auth/user-auth.module.js';
import { UsersModule } from './users/users.module.js';

export const SERVICE_NAME = 'user-service';

/** The queue this service consumes; its bindings are the event types its `@ConsumeEvent` handlers name. */
export const EVENT_QUEUE = 'user-service.order-events';

/** The service's schema; its migrations sit beside it (same relative place from `src/` and `dist/`). */
export const SCHEMA_PATH = fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url));

@Module({})
export class AppModule {
  /**
   * The whole service for a given configuration (main.ts passes the environment's, tests their own). Both services
   * list the same kit modules on purpose: what a service logs, stores and consumes stays readable in one place.
   * `tokenIssuer` holds the signing keys, read beforehand (`tokenIssuerFromConfig`).
   */
  static forRoot(config: UserServiceConfig, tokenIssuer: TokenIssuer): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot(loggerOptions({ service: SERVICE_NAME, level: config.LOG_LEVEL })),
        HealthModule.forRoot({ detailToken: config.HEALTH_DETAIL_TOKEN }),
        MetricsModule.forRoot({ service: SERVICE_NAME, port: config.METRICS_PORT }),
        DatabaseModule.forPrisma(PrismaClient, {
          databaseUrl: config.DATABASE_URL,
          poolMax: config.DATABASE_POOL_MAX,
          timeouts: postgresTimeoutsOf(config),
          applicationName: SERVICE_NAME,
          schemaPath: SCHEMA_PATH,
        }),
        MessagingModule.forRootAsync({
          inject: [PrismaClient],
          useFactory: (prisma: PrismaClient) => ({
            service: SERVICE_NAME,
            config,
            consumer: { queue: EVENT_QUEUE, transaction: (work) => prisma.$transaction(work) },
          }),
        }),
        AbuseLimitsModule.forRoot(config),
        AdminEmailsModule.forRoot(config),
        UsersModule,
        UserAuthModule.forRoot(tokenIssuer),
      ],
    };
  }
}
