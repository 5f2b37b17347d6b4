import { type DynamicModule, Module } from '@nestjs/common';
import { CustomerProfilesService } from './customer-profiles.service.js';
import { CustomersController } from './customers.controller.js';
import { ORDER_CANCELLATION_SETTINGS, type OrderCancellationSettings } from './order-cancellation-settings.js';
import { OrderCancellationWorker } from './order-cancellation-worker.js';
import { OrderCancellations } from './order-cancellations.js';
import { UserEventsController } from './user-events.controller.js';

@Module({})
export class CustomersModule {
  /** Customer profiles and their user events, with the cancellation of deleted customers' orders (`settings`). */
  static forRoot(settings: OrderCancellationSettings): DynamicModule {
    return {
      module: CustomersModule,
      controllers: [CustomersController, UserEventsController],
      providers: [
        CustomerProfilesService,
        OrderCancellations,
        OrderCancellationWorker,
        { provide: ORDER_CANCELLATION_SETTINGS, useValue: settings },
      ],
      exports: [CustomerProfilesService],
    };
  }
}
