import { Inject, Injectable } from '@nestjs/common';
import { OrderCancelledV1 } from '@switchyard/contracts';
import { addToOutbox } from '@switchyard/messaging';
import { context, propagation } from '@switchyard/telemetry';
import { type Prisma, PrismaClient } from '../generated/prisma/client.js';
import { ORDER_CANCELLATION_SETTINGS, type OrderCancellationSettings } from './order-cancellation-settings.js';

/** What every chunk of one deletion needs: the customer, and what each `order.cancelled` carries. */
export interface OrderCancellationJob {
  userId: string;
  /** The deletion's `occurredAt`: each order's `cancelledAt` and its event's `occurredAt`. */
  cancelledAt: Date;
  correlationId: string;
  traceparent: string | null;
  tracestate: string | null;
  /** Chunks go in order id order; the next starts after this id (null: from the first order). */
  afterOrderId: string | null;
}

/** What one chunk did. `done`: the customer has no placed order left. */
export interface OrderCancellationChunk {
  userId: string;
  cancelled: number;
  done: boolean;
}

/**
 * Cancels a deleted customer's placed orders a chunk at a time: each chunk is one transaction that sets the orders
 * CANCELLED and writes one `order.cancelled` per order to the outbox, so a chunk either happens whole or not at all.
 *
 * Why a job table rather than the `user.deleted` handler doing it all: the handler's transaction (the inbox one) has
 * Prisma's 5 s timeout, and 20,000 orders do not fit in it. The handler cancels the first chunk in its own
 * transaction (a typical customer is done there, atomically with the event, as before) and, when more remain, writes
 * an `order_cancellation_jobs` row in that same transaction. The event is then acked; redelivery finds it in the
 * inbox. What drives the rest is the row, not the event: every replica's worker takes jobs (`FOR UPDATE SKIP
 * LOCKED`, so one job is worked by one replica at a time), cancels a chunk, moves the job's cursor or deletes the
 * job, and commits. A crash loses at most the uncommitted chunk; the next worker (after a restart, or on another
 * replica) starts after the last committed one. The update only touches rows still PLACED and returns those, and
 * only those get an event: an order cancelled meanwhile through the API is skipped, never announced twice.
 *
 * New orders cannot slip in behind: placing an order locks the profile and refuses a deleted customer, and the
 * handler marks the profile deleted under that lock before its first chunk.
 */
@Injectable()
export class OrderCancellations {
  constructor(
    private readonly prisma: PrismaClient,
    @Inject(ORDER_CANCELLATION_SETTINGS) private readonly settings: OrderCancellationSettings,
  ) {}

  /**
   * In the `user.deleted` handler's transaction: cancels the first chunk and, if orders remain, leaves a job for the
   * workers. The job keeps the handler's trace context, so every chunk's events continue the deletion's trace.
   */
  async start(
    tx: Prisma.TransactionClient,
    deletion: { userId: string; cancelledAt: Date; correlationId: string },
  ): Promise<OrderCancellationChunk> {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    const job: OrderCancellationJob = {
      ...deletion,
      traceparent: carrier.traceparent ?? null,
      tracestate: carrier.tracestate ?? null,
      afterOrderId: null,
    };
    const chunk = await this.cancelChunk(tx, job);
    if (chunk.done) return chunk;
    // A job already there (another user.deleted for the same customer) keeps its own cursor and timestamp.
    const { afterOrderId: _start, ...row } = job;
    await tx.orderCancellationJob.createMany({ data: [row], skipDuplicates: true });
    return chunk;
  }

  /**
   * A worker's step: one chunk of the least recently worked job (so a huge deletion never starves the others), in its
   * own transaction. Undefined when no job is waiting (or every one is being worked elsewhere).
   */
  async cancelNextChunk(): Promise<OrderCancellationChunk | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<JobRow[]>`
        SELECT user_id, cancelled_at, correlation_id, traceparent, tracestate, after_order_id
        FROM order_cancellation_jobs ORDER BY updated_at LIMIT 1 FOR UPDATE SKIP LOCKED`;
      if (!row) return undefined;
      const job = fromRow(row);
      const chunk = await this.cancelChunk(tx, job);
      const where = { userId: job.userId };
      if (chunk.done) await tx.orderCancellationJob.delete({ where });
      else await tx.orderCancellationJob.update({ where, data: { afterOrderId: chunk.lastOrderId } });
      return { userId: chunk.userId, cancelled: chunk.cancelled, done: chunk.done };
    });
  }

  /** Cancels the next chunk of `job`'s placed orders, in `tx`, each with its `order.cancelled`. */
  private async cancelChunk(
    tx: Prisma.TransactionClient,
    job: OrderCancellationJob,
  ): Promise<OrderCancellationChunk & { lastOrderId: string | null }> {
    const chunkSize = this.settings.ORDER_CANCELLATION_CHUNK_SIZE;
    // Read through the (user_id, id) index from the cursor on: no rescan of the orders earlier chunks cancelled.
    const found = await tx.order.findMany({
      where: { userId: job.userId, status: 'PLACED', ...(job.afterOrderId ? { id: { gt: job.afterOrderId } } : {}) },
      orderBy: { id: 'asc' },
      take: chunkSize,
      select: { id: true },
    });
    // No new placed order can appear for a deleted customer, so a short chunk is the last one.
    const done = found.length < chunkSize;
    if (found.length === 0) return { userId: job.userId, cancelled: 0, done, lastOrderId: job.afterOrderId };
    // Only rows still PLACED change (an API cancel may have committed since the read), and only those are announced.
    const cancelled = await tx.order.updateManyAndReturn({
      where: { id: { in: found.map((order) => order.id) }, status: 'PLACED' },
      data: { status: 'CANCELLED', cancelledAt: job.cancelledAt, cancelReason: 'customer_deleted' },
      select: { id: true },
    });
    cancelled.sort((a, b) => (a.id < b.id ? -1 : 1));
    const occurredAt = job.cancelledAt.toISOString();
    for (const order of cancelled) {
      await addToOutbox(
        tx,
        OrderCancelledV1,
        { orderId: order.id, userId: job.userId, reason: 'customer_deleted', occurredAt },
        {
          correlationId: job.correlationId,
          ...(job.traceparent ? { traceparent: job.traceparent, tracestate: job.tracestate ?? undefined } : {}),
        },
      );
    }
    return { userId: job.userId, cancelled: cancelled.length, done, lastOrderId: found.at(-1)!.id };
  }
}

interface JobRow {
  user_id: string;
  cancelled_at: Date;
  correlation_id: string;
  traceparent: string | null;
  tracestate: string | null;
  after_order_id: string | null;
}

function fromRow(row: JobRow): OrderCancellationJob {
  return {
    userId: row.user_id,
    cancelledAt: row.cancelled_at,
    correlationId: row.correlation_id,
    traceparent: row.traceparent,
    tracestate: row.tracestate,
    afterOrderId: row.after_order_id,
  };
}
