import { Module } from '@nestjs/common';
import { CustomerProfilesService } from './customer-profiles.service.js';
import { CustomersController } from './customers.controller.js';

@Module({ controllers: [CustomersController], providers: [CustomerProfilesService], exports: [CustomerProfilesService] })
export class CustomersModule {}
