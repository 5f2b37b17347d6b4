import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { uuidParam } from '@switchyard/service-kit';
import { CustomerProfilesService } from './customer-profiles.service.js';
import type { CustomerResponse } from './customer.response.js';

@ApiTags('customers')
@Controller('customers')
export class CustomersController {
  constructor(private readonly profiles: CustomerProfilesService) {}

  @Get(':userId')
  @ApiOperation({ summary: 'The customer profile order-service keeps for a user' })
  @ApiResponse({ status: 404, description: 'order-service has not (yet) heard of this user' })
  get(@Param('userId', uuidParam('userId')) userId: string): Promise<CustomerResponse> {
    return this.profiles.get(userId);
  }
}
