import { Injectable, NotFoundException } from '@nestjs/common';
import { type EventData, OrderCancelledV1, type UserCreatedV2, type UserDeletedV1, type UserUpdatedV1 } from '@switchyard/contracts';
import { addToOutbox } from '@switchyard/messaging';
import { errorBody } from '@switchyard/service-kit';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';
import { toCustomerResponse, type CustomerResponse } from './customer.response.js';

/** A user event that needs the profile before it exists (it overtook `user.created`); retried until that arrives. */
export class ProfileNotYetKnownError extends Error {
  override readonly name = 'ProfileNotYetKnownError';
}

/**
 * order-service's copy of each user, written only by user events (never by a public endpoint). Events may arrive
 * late or out of order through retries: each carries `occurredAt`, and an older one never overwrites a newer one.
 */
@Injectable()
export class CustomerProfilesService {
  constructor(private readonly prisma: PrismaService) {}

  async get(userId: string): Promise<CustomerResponse> {
    const profile = await this.prisma.customerProfile.findUnique({ where: { userId } });
    if (!profile) throw new NotFoundException(errorBody(404, `customer ${userId} not found`));
    return toCustomerResponse(profile);
  }

  async applyUserCreated(tx: Prisma.TransactionClient, event: EventData<typeof UserCreatedV2>): Promise<void> {
    const at = new Date(event.occurredAt);
    const existing = await tx.customerProfile.findUnique({ where: { userId: event.userId } });
    if (!existing) {
      await tx.customerProfile.create({ data: { userId: event.userId, email: event.email, name: event.name, sourceUpdatedAt: at } });
    } else if (existing.sourceUpdatedAt < at) {
      await tx.customerProfile.update({ where: { userId: event.userId }, data: { email: event.email, name: event.name, sourceUpdatedAt: at } });
    }
  }

  async applyUserUpdated(tx: Prisma.TransactionClient, event: EventData<typeof UserUpdatedV1>): Promise<void> {
    const at = new Date(event.occurredAt);
    const existing = await tx.customerProfile.findUnique({ where: { userId: event.userId } });
    if (!existing) throw new ProfileNotYetKnownError(`user.updated for ${event.userId} arrived before user.created`);
    if (existing.sourceUpdatedAt >= at) return;
    await tx.customerProfile.update({ where: { userId: event.userId }, data: { ...event.changes, sourceUpdatedAt: at } });
  }

  /**
   * Marks the profile deleted and cancels its placed orders, each publishing `order.cancelled`, all in the
   * handler's transaction.
   */
  async applyUserDeleted(tx: Prisma.TransactionClient, event: EventData<typeof UserDeletedV1>, correlationId: string): Promise<void> {
    const at = new Date(event.occurredAt);
    const existing = await tx.customerProfile.findUnique({ where: { userId: event.userId } });
    if (!existing) throw new ProfileNotYetKnownError(`user.deleted for ${event.userId} arrived before user.created`);
    if (!existing.deletedAt) await tx.customerProfile.update({ where: { userId: event.userId }, data: { deletedAt: at } });
    const placed = await tx.order.findMany({ where: { userId: event.userId, status: 'PLACED' }, select: { id: true } });
    for (const order of placed) {
      const cancelled = await tx.order.update({
        where: { id: order.id },
        data: { status: 'CANCELLED', cancelledAt: at, cancelReason: 'customer_deleted' },
      });
      await addToOutbox(
        tx,
        OrderCancelledV1,
        { orderId: cancelled.id, userId: cancelled.userId, reason: 'customer_deleted', occurredAt: at.toISOString() },
        { correlationId },
      );
    }
  }
}
