import pg from 'pg';
import { postgresConnectionOptions, type PostgresTimeouts } from '@switchyard/service-kit';
import { errorFields, type MessagingLogger } from '../observability/messaging-logger.js';
import { OUTBOX_NOTIFY_CHANNEL } from './outbox.js';

export interface OutboxListenerOptions {
  databaseUrl: string;
  /** Connect, statement and keepalive timeouts (keepalive notices a dead link while nothing is said); defaults when left out. */
  databaseTimeouts?: PostgresTimeouts;
  /** Pause before listening again after the connection dropped (polling covers the gap). */
  retryDelayMs: number;
  /** Called on every notification, and once each time listening (re)starts. */
  onNotify(): void;
  /** Listening goes on while this holds. */
  isRunning(): boolean;
  logger: MessagingLogger;
}

/**
 * LISTEN for the outbox's NOTIFY hints on a connection of its own, re-established after a drop. Notifications
 * are hints only (a dropped connection loses them): the relay polls as well.
 */
export class OutboxListener {
  private client: pg.Client | undefined;
  private listening: Promise<void> | undefined;

  constructor(private readonly options: OutboxListenerOptions) {}

  start(): void {
    this.listening = this.listen();
  }

  /** Ends the connection; resolves once listening has stopped (call once `isRunning()` is false). */
  async stop(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    await this.listening;
  }

  private async listen(): Promise<void> {
    const { databaseUrl, databaseTimeouts, isRunning, logger } = this.options;
    while (isRunning()) {
      const client = new pg.Client(
        postgresConnectionOptions(databaseUrl, { applicationName: 'outbox-listener' }, databaseTimeouts),
      );
      // Always listening: a second `error` with no listener would crash the process.
      const closed = new Promise<void>((resolve) => {
        client.on('error', () => resolve());
        client.once('end', () => resolve());
      });
      try {
        await client.connect();
        if (!isRunning()) continue; // stop() ran while connecting; `finally` closes this client
        client.on('notification', () => this.options.onNotify());
        await client.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`);
        this.client = client;
        this.options.onNotify(); // rows committed while we were not listening
        await closed;
      } catch (error) {
        if (isRunning()) logger.warn(errorFields(error), 'outbox relay: LISTEN connection failed; polling meanwhile');
      } finally {
        this.client = undefined;
        await client.end().catch(() => undefined);
      }
      if (isRunning()) await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs).unref());
    }
  }
}
