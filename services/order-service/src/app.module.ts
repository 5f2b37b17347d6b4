import { type DynamicModule, Module } from '@nestjs/common';
import { MessagingModule } from '@switchyard/messaging';
import { HealthModule, MetricsModule } from '@switchyard/service-kit';
import { loggerOptions } from '@switchyard/telemetry';
import { LoggerModule } from 'nestjs-pino';
import type { OrderServiceConfig } from './config.js';
import { CustomersModule } from './customers/customers.module.js';
import { DatabaseModule } from './database/database.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { SERVICE_CONFIG } from './service-config.token.js';

export const SERVICE_NAME = 'order-service';

@Module({})
export class AppModule {
  /** The whole service for a given configuration (main.ts passes the environment's, tests their own). */
  static forRoot(config: OrderServiceConfig): DynamicModule {
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
        CustomersModule,
        OrdersModule,
      ],
      providers: [{ provide: SERVICE_CONFIG, useValue: config }],
      exports: [SERVICE_CONFIG],
    };
  }
}
