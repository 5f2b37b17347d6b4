import { Injectable, NotFoundException } from '@nestjs/common';
import { type EventData, type UserCreatedV2, type UserDeletedV1, type UserUpdatedV1 } from '@switchyard/contracts';
import { errorBody } from '@switchyard/service-kit';
import { type CustomerProfile, type Prisma, PrismaClient } from '../generated/prisma/client.js';
import { toCustomerResponse, type CustomerResponse } from './customer.response.js';
import { OrderCancellations } from './order-cancellations.js';

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
  constructor(
    private readonly prisma: PrismaClient,
    private readonly cancellations: OrderCancellations,
  ) {}

  async get(userId: string): Promise<CustomerResponse> {
    const profile = await this.prisma.customerProfile.findUnique({ where: { userId } });
    if (!profile) throw new NotFoundException(errorBody(404, `customer ${userId} not found`));
    return toCustomerResponse(profile);
  }

  async applyUserCreated(tx: Prisma.TransactionClient, event: EventData<typeof UserCreatedV2>): Promise<void> {
    const at = new Date(event.occurredAt);
    const existing = await this.lockProfile(tx, event.userId);
    if (!existing) {
      await tx.customerProfile.create({
        data: { userId: event.userId, email: event.email, name: event.name, emailChangedAt: at, nameChangedAt: at },
      });
      return;
    }
    await this.applyChanges(tx, existing, { email: event.email, name: event.name }, at);
  }

  async applyUserUpdated(tx: Prisma.TransactionClient, event: EventData<typeof UserUpdatedV1>): Promise<void> {
    const existing = await this.lockProfile(tx, event.userId);
    if (!existing) throw new ProfileNotYetKnownError(`user.updated for ${event.userId} arrived before user.created`);
    await this.applyChanges(tx, existing, event.changes, new Date(event.occurredAt));
  }

  /**
   * Reads the profile with a row lock held until the handler's transaction ends: two events for the same user,
   * handled concurrently, then apply one after the other instead of both deciding from the same old state.
   */
  private async lockProfile(tx: Prisma.TransactionClient, userId: string): Promise<CustomerProfile | null> {
    await tx.$queryRaw`SELECT 1 FROM customer_profiles WHERE user_id = ${userId}::uuid FOR UPDATE`;
    return tx.customerProfile.findUnique({ where: { userId } });
  }

  /** Sets each field whose last change is older than `at`; a field changed later by another event keeps its value. */
  private async applyChanges(
    tx: Prisma.TransactionClient,
    existing: CustomerProfile,
    changes: { email?: string; name?: string },
    at: Date,
  ): Promise<void> {
    // A tombstone stays erased: a late or retried user.created/user.updated must not bring personal data back.
    if (existing.deletedAt) return;
    const data: Prisma.CustomerProfileUpdateInput = {};
    if (changes.email !== undefined && existing.emailChangedAt < at)
      Object.assign(data, { email: changes.email, emailChangedAt: at });
    if (changes.name !== undefined && existing.nameChangedAt < at)
      Object.assign(data, { name: changes.name, nameChangedAt: at });
    if (Object.keys(data).length > 0) await tx.customerProfile.update({ where: { userId: existing.userId }, data });
  }

  /**
   * Turns the profile into a tombstone (email and name erased; the id and `deletedAt` stay, so past orders keep their
   * customer and new orders are refused from then on) and cancels its placed orders, each publishing
   * `order.cancelled`: the first chunk in the handler's transaction, the rest by the workers from a durable job
   * written in it ({@link OrderCancellations} says why).
   */
  async applyUserDeleted(
    tx: Prisma.TransactionClient,
    event: EventData<typeof UserDeletedV1>,
    correlationId: string,
  ): Promise<void> {
    const at = new Date(event.occurredAt);
    const existing = await this.lockProfile(tx, event.userId);
    if (!existing) throw new ProfileNotYetKnownError(`user.deleted for ${event.userId} arrived before user.created`);
    if (!existing.deletedAt || existing.email !== null || existing.name !== null)
      await tx.customerProfile.update({
        where: { userId: event.userId },
        data: { deletedAt: existing.deletedAt ?? at, email: null, name: null },
      });
    await this.cancellations.start(tx, { userId: event.userId, cancelledAt: at, correlationId });
  }
}
