import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { openApiSchema, type Page, uuidParam, ZodValidationPipe } from '@switchyard/service-kit';
import { type ListOrdersQuery, listOrdersQuery, type PlaceOrderBody, placeOrderBody } from './order.schemas.js';
import type { OrderResponse } from './order.response.js';
import { OrdersService } from './orders.service.js';

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @ApiOperation({ summary: 'Place an order for a known customer; money is integer cents' })
  @ApiBody({ schema: openApiSchema(placeOrderBody) })
  @ApiResponse({ status: 201, description: 'Placed' })
  @ApiResponse({ status: 400, description: 'A field is missing, has the wrong type, or is not allowed' })
  @ApiResponse({ status: 422, description: 'order-service knows no (live) customer with this userId' })
  place(@Body(new ZodValidationPipe(placeOrderBody)) body: PlaceOrderBody): Promise<OrderResponse> {
    return this.orders.place(body);
  }

  @Get()
  @ApiOperation({ summary: 'A customer’s orders, oldest first, one page at a time' })
  @ApiQuery({ name: 'userId', required: true })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } })
  @ApiQuery({ name: 'cursor', required: false, description: '`nextCursor` of the previous page' })
  list(@Query(new ZodValidationPipe(listOrdersQuery, 'query')) query: ListOrdersQuery): Promise<Page<OrderResponse>> {
    return this.orders.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one order' })
  @ApiResponse({ status: 404, description: 'No such order' })
  get(@Param('id', uuidParam('id')) id: string): Promise<OrderResponse> {
    return this.orders.get(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a placed order' })
  @ApiResponse({ status: 409, description: 'The order is no longer cancellable' })
  cancel(@Param('id', uuidParam('id')) id: string): Promise<OrderResponse> {
    return this.orders.cancel(id, 'requested');
  }
}
