import { Module } from '@nestjs/common';
import { CustomerProfilesService } from './customer-profiles.service.js';
import { CustomersController } from './customers.controller.js';
import { UserEventsController } from './user-events.controller.js';

@Module({
  controllers: [CustomersController, UserEventsController],
  providers: [CustomerProfilesService],
  exports: [CustomerProfilesService],
})
export class CustomersModule {}
