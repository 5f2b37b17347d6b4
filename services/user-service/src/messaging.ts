import type { INestApplication } from '@nestjs/common';
import { connectEventTransport, inboxHandlerRunner } from '@switchyard/messaging';
import type { UserServiceConfig } from './config.js';
import { PrismaService } from './database/prisma.service.js';

/** The queue this service consumes; its bindings are the event types its `@EventPattern` handlers name. */
export const EVENT_QUEUE = 'user-service.order-events';

/** Handlers run in a database transaction that also records the event in the inbox: one effect per event. */
export function connectUserServiceTransport(app: INestApplication, config: UserServiceConfig): void {
  const prisma = app.get(PrismaService);
  connectEventTransport(app, {
    queue: EVENT_QUEUE,
    runHandler: inboxHandlerRunner((work) => prisma.$transaction(work)),
    retryDelaysMs: config.MESSAGING_RETRY_DELAYS_MS,
    // With a mounted policy its retry tiers, prefetch and pause win, and change without a restart.
    ...(config.CONSUMER_POLICY_DIR ? { policyDirectory: config.CONSUMER_POLICY_DIR } : {}),
    policyPollIntervalMs: config.CONSUMER_POLICY_POLL_MS,
  });
}
