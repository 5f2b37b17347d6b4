import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses, ApiJsonResponse, uuidParam } from '@switchyard/service-kit';
import { CustomerProfilesService } from './customer-profiles.service.js';
import { type CustomerResponse, customerResponse } from './customer.response.js';

@ApiTags('customers')
@Controller('customers')
export class CustomersController {
  constructor(private readonly profiles: CustomerProfilesService) {}

  @Get(':userId')
  @ApiOperation({ summary: 'The customer profile order-service keeps for a user' })
  @ApiJsonResponse(200, 'The profile', customerResponse)
  @ApiErrorResponses({ 400: 'The userId is not a UUID', 404: 'order-service has not (yet) heard of this user' })
  get(@Param('userId', uuidParam('userId')) userId: string): Promise<CustomerResponse> {
    return this.profiles.get(userId);
  }
}
