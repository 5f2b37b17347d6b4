import { ConflictException, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { OrderCancelledV1, OrderPlacedV1 } from '@switchyard/contracts';
import { addToOutbox } from '@switchyard/messaging';
import { errorBody, type Page, toPage } from '@switchyard/service-kit';
import { PrismaClient } from '../generated/prisma/client.js';
import type { ListOrdersQuery, PlaceOrderBody } from './order.schemas.js';
import { type OrderResponse, toOrderResponse } from './order.response.js';

/** Why an order was cancelled, as stored and (later) published in `order.cancelled`. */
export type CancelReason = 'requested' | 'customer_deleted';

@Injectable()
export class OrdersService {
  constructor(private readonly prisma: PrismaClient) {}

  /** Places an order for `userId`: the caller's own id, taken from the token (the controller checks the body's). */
  async place(userId: string, body: PlaceOrderBody): Promise<OrderResponse> {
    const totalCents = body.items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
    return this.prisma.$transaction(async (tx) => {
      // Lock the profile row so a concurrent deletion cannot slip between this check and the insert.
      const [customer] = await tx.$queryRaw<Array<{ deleted_at: Date | null }>>`
        SELECT deleted_at FROM customer_profiles WHERE user_id = ${userId}::uuid FOR SHARE`;
      if (!customer) {
        throw unprocessable(
          `customer ${userId} is unknown to order-service: profiles arrive from user-service events, so the user does not exist or has not been seen yet`,
          'is not a known customer',
        );
      }
      if (customer.deleted_at)
        throw unprocessable(`customer ${userId} was deleted and cannot place orders`, 'is a deleted customer');
      const order = await tx.order.create({
        data: {
          userId,
          totalCents: BigInt(totalCents),
          items: { create: body.items.map((item, position) => ({ position, ...item })) },
        },
        include: { items: true },
      });
      await addToOutbox(tx, OrderPlacedV1, {
        orderId: order.id,
        userId: order.userId,
        items: body.items,
        totalCents,
        occurredAt: order.createdAt.toISOString(),
      });
      return toOrderResponse(order);
    });
  }

  /**
   * One order; with `ownerId`, only if it is that user's. Someone else's order is "not found", exactly like one that
   * does not exist, so order ids cannot be probed.
   */
  async get(id: string, ownerId?: string): Promise<OrderResponse> {
    const order = await this.prisma.order.findUnique({ where: { id }, include: { items: true } });
    if (!order || (ownerId !== undefined && order.userId !== ownerId)) throw notFound(id);
    return toOrderResponse(order);
  }

  /** A customer's orders, oldest first (ids are UUIDv7), a page at a time. */
  async list(userId: string, query: ListOrdersQuery): Promise<Page<OrderResponse>> {
    const rows = await this.prisma.order.findMany({
      where: { userId, ...(query.cursor ? { id: { gt: query.cursor } } : {}) },
      orderBy: { id: 'asc' },
      take: query.limit + 1,
      include: { items: true },
    });
    return toPage(rows, query.limit, toOrderResponse);
  }

  /**
   * PLACED → CANCELLED, once: the conditional update makes two concurrent cancels yield one 200 and one 409. With
   * `ownerId`, only that user's order: someone else's is "not found" and stays untouched.
   */
  async cancel(id: string, reason: CancelReason, ownerId?: string): Promise<OrderResponse> {
    return this.prisma.$transaction(async (tx) => {
      const cancelledAt = new Date();
      const owner = ownerId === undefined ? {} : { userId: ownerId };
      const { count } = await tx.order.updateMany({
        where: { id, status: 'PLACED', ...owner },
        data: { status: 'CANCELLED', cancelledAt, cancelReason: reason },
      });
      const order = await tx.order.findUnique({ where: { id }, include: { items: true } });
      if (!order || (ownerId !== undefined && order.userId !== ownerId)) throw notFound(id);
      if (count === 0)
        throw new ConflictException(errorBody(409, `order ${id} is ${order.status} and cannot be cancelled`));
      await addToOutbox(tx, OrderCancelledV1, {
        orderId: id,
        userId: order.userId,
        reason,
        occurredAt: cancelledAt.toISOString(),
      });
      return toOrderResponse(order);
    });
  }
}

function notFound(id: string): NotFoundException {
  return new NotFoundException(errorBody(404, `order ${id} not found`));
}

function unprocessable(message: string, problem: string): UnprocessableEntityException {
  return new UnprocessableEntityException(errorBody(422, message, [{ field: 'userId', message: problem }]));
}
