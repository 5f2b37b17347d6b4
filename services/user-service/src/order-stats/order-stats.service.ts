import { Injectable } from '@nestjs/common';
import type { EventData, OrderCancelledV1, OrderPlacedV1 } from '@switchyard/contracts';
import { type Prisma, PrismaClient } from '../generated/prisma/client.js';
import { NO_ORDERS, type OrderStats } from '../users/user.response.js';

/** Only orders that were placed and not cancelled count. */
const COUNTED: Prisma.UserOrderWhereInput = { placedAt: { not: null }, cancelledAt: null };

/**
 * A user's order statistics, derived from the order events user-service has seen. Each order is one row, so
 * applying an event twice, or `order.cancelled` before `order.placed`, still yields the right numbers.
 */
@Injectable()
export class OrderStatsService {
  constructor(private readonly prisma: PrismaClient) {}

  async recordPlaced(tx: Prisma.TransactionClient, event: EventData<typeof OrderPlacedV1>): Promise<void> {
    const placed = { userId: event.userId, totalCents: BigInt(event.totalCents), placedAt: new Date(event.occurredAt) };
    await tx.userOrder.upsert({
      where: { orderId: event.orderId },
      create: { orderId: event.orderId, ...placed },
      update: placed,
    });
  }

  async recordCancelled(tx: Prisma.TransactionClient, event: EventData<typeof OrderCancelledV1>): Promise<void> {
    const cancelledAt = new Date(event.occurredAt);
    await tx.userOrder.upsert({
      where: { orderId: event.orderId },
      create: { orderId: event.orderId, userId: event.userId, cancelledAt },
      update: { cancelledAt },
    });
  }

  async forUser(userId: string): Promise<OrderStats> {
    return (await this.forUsers([userId])).get(userId) ?? NO_ORDERS;
  }

  async forUsers(userIds: string[]): Promise<Map<string, OrderStats>> {
    if (userIds.length === 0) return new Map();
    const groups = await this.prisma.userOrder.groupBy({
      by: ['userId'],
      where: { userId: { in: userIds }, ...COUNTED },
      _count: { _all: true },
      _sum: { totalCents: true },
    });
    return new Map(
      groups.map((g) => [g.userId, { orderCount: g._count._all, lifetimeValueCents: Number(g._sum.totalCents ?? 0n) }]),
    );
  }
}
