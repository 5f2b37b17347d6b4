import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ORDER_CANCELLATION_SETTINGS, type OrderCancellationSettings } from './order-cancellation-settings.js';
import { OrderCancellations } from './order-cancellations.js';

/** Longest pause after repeated failures (database down): retries keep coming, at most this far apart. */
const MAX_FAILURE_BACKOFF_MS = 30_000;

/**
 * Works off unfinished deletions ({@link OrderCancellations}) in every replica: chunk after chunk while there is work,
 * then a look every `ORDER_CANCELLATION_POLL_MS`. One chunk at a time, so it holds at most one pooled connection.
 * Stops between chunks at shutdown (before the database disconnects); what is left waits in its job for the next start.
 */
@Injectable()
export class OrderCancellationWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('OrderCancellationWorker');
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly cancellations: OrderCancellations,
    @Inject(ORDER_CANCELLATION_SETTINGS) private readonly settings: OrderCancellationSettings,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  /** Before any shutdown hook disconnects the database: the chunk in flight commits, none starts after it. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        const chunk = await this.cancellations.cancelNextChunk();
        failures = 0;
        if (chunk?.done)
          this.log.log(`cancelled the last placed orders of deleted customer ${chunk.userId} (${chunk.cancelled})`);
        if (chunk) continue;
      } catch (error) {
        failures += 1;
        this.log.warn(`order cancellation chunk failed (attempt ${failures}), retrying: ${String(error)}`);
      }
      const pollMs = this.settings.ORDER_CANCELLATION_POLL_MS;
      await this.pause(Math.min(pollMs * 2 ** failures, Math.max(pollMs, MAX_FAILURE_BACKOFF_MS)));
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
