import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
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

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @ApiOperation({ summary: 'Place an order for a known customer; money is integer cents' })
  @ApiBody({ schema: openApiSchema(placeOrderBody) })
  @ApiJsonResponse(201, 'Placed', orderResponse)
  @ApiErrorResponses({
    400: 'A field is missing, has the wrong type, or is not allowed',
    422: 'order-service knows no (live) customer with this userId',
  })
  place(@Body(new ZodValidationPipe(placeOrderBody)) body: PlaceOrderBody): Promise<OrderResponse> {
    return this.orders.place(body);
  }

  @Get()
  @ApiOperation({ summary: 'A customer’s orders, oldest first, one page at a time' })
  @ApiQuery({ name: 'userId', required: true })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } })
  @ApiQuery({ name: 'cursor', required: false, description: '`nextCursor` of the previous page' })
  @ApiJsonResponse(200, 'One page of orders', orderPage)
  @ApiErrorResponses({ 400: 'userId, limit or cursor is not valid' })
  list(@Query(new ZodValidationPipe(listOrdersQuery, 'query')) query: ListOrdersQuery): Promise<OrderPage> {
    return this.orders.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one order' })
  @ApiJsonResponse(200, 'The order', orderResponse)
  @ApiErrorResponses({ 400: 'The id is not a UUID', 404: 'No such order' })
  get(@Param('id', uuidParam('id')) id: string): Promise<OrderResponse> {
    return this.orders.get(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a placed order' })
  @ApiJsonResponse(200, 'The cancelled order', orderResponse)
  @ApiErrorResponses({ 400: 'The id is not a UUID', 404: 'No such order', 409: 'The order is no longer cancellable' })
  cancel(@Param('id', uuidParam('id')) id: string): Promise<OrderResponse> {
    return this.orders.cancel(id, 'requested');
  }
}
