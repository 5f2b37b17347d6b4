import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal, requireSelfOrAdmin } from '@switchyard/auth';
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
  @ApiErrorResponses({
    400: 'The userId is not a UUID',
    401: 'No valid access token',
    403: 'userId is not the caller’s and the caller is not an admin',
    404: 'order-service has not (yet) heard of this user',
  })
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('userId', uuidParam('userId')) userId: string,
  ): Promise<CustomerResponse> {
    requireSelfOrAdmin(principal, userId, 'reading a customer profile');
    return this.profiles.get(userId);
  }
}
