import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule, remoteJwksVerifier } from '@switchyard/auth';
import { MessagingModule } from '@switchyard/messaging';
import { HealthModule, MetricsModule, postgresTimeoutsOf } from '@switchyard/service-kit';
import { DatabaseModule } from '@switchyard/service-kit/database';
import { loggerOptions } from '@switchyard/telemetry';
import { LoggerModule } from 'nestjs-pino';
import { fileURLToPath } from 'node:url';
import type { OrderServiceConfig } from './config.js';
import { CustomersModule } from './customers/customers.module.js';
import { PrismaClient } from './generated/prisma/client.js';
import { OrdersModule } from './orders/orders.module.js';

export const SERVICE_NAME = 'order-service';

/** The queue this service consumes; its bindings are the event types its `@ConsumeEvent` handlers name. */
export const EVENT_QUEUE = 'order-service.user-events';

/** The service's schema; its migrations sit beside it (same relative place from `src/` and `dist/`). */
export const SCHEMA_PATH = fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url));

@Module({})
export class AppModule {
  /**
   * The whole service for a given configuration (main.ts passes the environment's, tests their own). Both services
   * list the same kit modules on purpose: what a service logs, stores and consumes stays readable in one place.
   */
  static forRoot(config: OrderServiceConfig): DynamicModule {
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
        // Tokens are user-service's: checked against its JWKS, fetched and cached (see the README's Security section).
        AuthModule.forRootAsync({
          useFactory: () =>
            remoteJwksVerifier(config.AUTH_JWKS_URL, {
              timeoutMs: config.AUTH_JWKS_TIMEOUT_MS,
              cooldownMs: config.AUTH_JWKS_COOLDOWN_MS,
            }),
        }),
        CustomersModule.forRoot(config),
        OrdersModule,
      ],
    };
  }
}
