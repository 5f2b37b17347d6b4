import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, isAdmin, type Principal, requireSelf, requireSelfOrAdmin } from '@switchyard/auth';
import {
  ApiErrorResponses,
  ApiJsonResponse,
  openApiSchema,
  uuidParam,
  ZodValidationPipe,
} from '@switchyard/service-kit';
import { type ListOrdersQuery, listOrdersQuery, type PlaceOrderBody, placeOrderBody } from './order.schemas.js';
import { orderPage, type OrderPage, type OrderResponse, orderResponse } from './order.response.js';
import { OrdersService } from './orders.service.js';

const NO_TOKEN = 'No valid access token';
/** Someone else's order answers like a missing one: order ids cannot be probed. */
const NO_SUCH_ORDER = 'No such order among those the caller may see';

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @ApiOperation({ summary: 'Place an order for the caller (the token’s user); money is integer cents' })
  @ApiBody({ schema: openApiSchema(placeOrderBody) })
  @ApiJsonResponse(201, 'Placed', orderResponse)
  @ApiErrorResponses({
    400: 'A field is missing, has the wrong type, or is not allowed',
    401: NO_TOKEN,
    403: 'The body’s userId is not the caller’s',
    422: 'order-service knows no (live) customer with the caller’s id',
  })
  place(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodValidationPipe(placeOrderBody)) body: PlaceOrderBody,
  ): Promise<OrderResponse> {
    if (body.userId !== undefined) requireSelf(principal, body.userId, 'placing an order');
    return this.orders.place(principal.userId, body);
  }

  @Get()
  @ApiOperation({ summary: 'A customer’s orders (the caller’s by default), oldest first, one page at a time' })
  @ApiQuery({ name: 'userId', required: false, description: 'Another user’s id: admins only' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } })
  @ApiQuery({ name: 'cursor', required: false, description: '`nextCursor` of the previous page' })
  @ApiJsonResponse(200, 'One page of orders', orderPage)
  @ApiErrorResponses({
    400: 'userId, limit or cursor is not valid',
    401: NO_TOKEN,
    403: 'userId is another user’s and the caller is not an admin',
  })
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(listOrdersQuery, 'query')) query: ListOrdersQuery,
  ): Promise<OrderPage> {
    const userId = query.userId ?? principal.userId;
    requireSelfOrAdmin(principal, userId, 'listing orders');
    return this.orders.list(userId, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one order' })
  @ApiJsonResponse(200, 'The order', orderResponse)
  @ApiErrorResponses({ 400: 'The id is not a UUID', 401: NO_TOKEN, 404: NO_SUCH_ORDER })
  get(@CurrentPrincipal() principal: Principal, @Param('id', uuidParam('id')) id: string): Promise<OrderResponse> {
    return this.orders.get(id, isAdmin(principal) ? undefined : principal.userId);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel one of the caller’s placed orders' })
  @ApiJsonResponse(200, 'The cancelled order', orderResponse)
  @ApiErrorResponses({
    400: 'The id is not a UUID',
    401: NO_TOKEN,
    404: 'No such order among the caller’s',
    409: 'The order is no longer cancellable',
  })
  cancel(@CurrentPrincipal() principal: Principal, @Param('id', uuidParam('id')) id: string): Promise<OrderResponse> {
    // Only the owner cancels, admins included: an admin reads any order but acts for nobody else.
    return this.orders.cancel(id, 'requested', principal.userId);
  }
}
