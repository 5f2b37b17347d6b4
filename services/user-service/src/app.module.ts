import { type DynamicModule, Module } from '@nestjs/common';
import { MessagingModule } from '@switchyard/messaging';
import { HealthModule, MetricsModule } from '@switchyard/service-kit';
import { loggerOptions } from '@switchyard/telemetry';
import { LoggerModule } from 'nestjs-pino';
import type { UserServiceConfig } from './config.js';
import { DatabaseModule } from './database/database.module.js';
import { SERVICE_CONFIG } from './service-config.token.js';
import { UsersModule } from './users/users.module.js';

export const SERVICE_NAME = 'user-service';

@Module({})
export class AppModule {
  /** The whole service for a given configuration (main.ts passes the environment's, tests their own). */
  static forRoot(config: UserServiceConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        LoggerModule.forRoot(loggerOptions({ service: SERVICE_NAME, level: config.LOG_LEVEL })),
        HealthModule,
        MetricsModule.forRoot({ service: SERVICE_NAME }),
        DatabaseModule,
        MessagingModule.forRoot({
          service: SERVICE_NAME,
          rabbitmqUrl: config.RABBITMQ_URL,
          databaseUrl: config.DATABASE_URL,
          exchange: config.RABBITMQ_EXCHANGE,
        }),
        UsersModule,
      ],
      providers: [{ provide: SERVICE_CONFIG, useValue: config }],
      exports: [SERVICE_CONFIG],
    };
  }
}
