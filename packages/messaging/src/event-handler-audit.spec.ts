import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import { type EventData, UserDeletedV1 } from '@switchyard/contracts';
import { HealthModule } from '@switchyard/service-kit';
import { LoggerModule } from 'nestjs-pino';
import { ConsumeEvent } from './consume-event.decorator.js';
import type { EventContext } from './consumer/event-context.js';
import { EventHandlerDeclarationError, misdeclaredEventHandlers } from './event-handler-audit.js';
import { MessagingModule } from './messaging.module.js';
import { SWITCHYARD_TRANSPORT } from './consumer/switchyard-server-options.js';

@Controller()
class OrderEventsController {
  @EventPattern('user.deleted')
  async onUserDeleted(@Payload() _event: unknown): Promise<void> {}
}

@Controller()
class WellDeclaredController {
  @ConsumeEvent(UserDeletedV1)
  async onUserDeleted(_event: EventData<typeof UserDeletedV1>, _ctx: EventContext): Promise<void> {}

  /** For Nest's own RMQ transport in a hybrid app: not ours. */
  @EventPattern('audit.logged', Transport.RMQ)
  async onAuditLogged(_data: unknown): Promise<void> {}

  /** Request/response: the transport itself refuses it when it starts listening. */
  @MessagePattern('user.lookup')
  async lookUp(_data: unknown): Promise<void> {}
}

@Controller()
class OverriddenController {
  @(EventPattern('user.removed', SWITCHYARD_TRANSPORT) as MethodDecorator) // typed for (data, ...unknown[]) handlers
  @ConsumeEvent(UserDeletedV1)
  async onUserDeleted(_event: EventData<typeof UserDeletedV1>, _ctx: EventContext): Promise<void> {}
}

/** A consuming service's modules, as `MessagingModule.forRoot` wires them, initialised; nothing connects before init fails. */
function consumingApp(controller: new () => object) {
  @Module({
    imports: [
      LoggerModule.forRoot({ pinoHttp: { level: 'silent' } }),
      HealthModule,
      MessagingModule.forRoot({
        service: 'order-service',
        config: {
          DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/never_opened',
          RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
          RABBITMQ_EXCHANGE: 'switchyard.events',
          MESSAGING_RETRY_DELAYS_MS: [1_000],
          CONSUMER_POLICY_POLL_MS: 2_000,
          MESSAGING_MAX_MESSAGE_BYTES: 1024 * 1024,
          MESSAGING_RELAY_STUCK_AFTER_MS: 120_000,
          MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS: 20,
        },
        consumer: {
          queue: 'order-service.user-events',
          transaction: () => Promise.reject(new Error('no handler runs in this test')),
        },
      }),
    ],
    controllers: [controller],
  })
  class ConsumingAppModule {}
  return NestFactory.createApplicationContext(ConsumingAppModule, { logger: false, abortOnError: false });
}

describe('event handler declarations', () => {
  it('refuses to start a consuming app whose handler uses a bare @EventPattern, saying what to write', async () => {
    // createApplicationContext initialises the app: the module's start-up is what fails.
    const failure = await consumingApp(OrderEventsController).then(
      async (app) => void (await app.close()),
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(EventHandlerDeclarationError);
    expect((failure as Error).message).toBe(
      "OrderEventsController.onUserDeleted uses @EventPattern('user.deleted') without @ConsumeEvent: write " +
        '@ConsumeEvent(UserDeletedV1 from @switchyard/contracts) instead, so its errors reach retries and dead letters unchanged',
    );
  });

  it('passes @ConsumeEvent handlers, handlers of other transports and message patterns', () => {
    expect(misdeclaredEventHandlers([WellDeclaredController])).toEqual([]);
  });

  it('flags an @EventPattern that overrides the pattern of its @ConsumeEvent', () => {
    expect(misdeclaredEventHandlers([OverriddenController])).toEqual([
      expect.stringContaining(
        "OverriddenController.onUserDeleted uses @EventPattern('user.removed') without @ConsumeEvent",
      ),
    ]);
  });

  it('names an event without a contract by its type', () => {
    @Controller()
    class UnknownEventController {
      @EventPattern('user.teleported')
      async onTeleported(_data: unknown): Promise<void> {}
    }
    expect(misdeclaredEventHandlers([UnknownEventController])).toEqual([
      expect.stringContaining("write @ConsumeEvent(the latest contract of 'user.teleported')"),
    ]);
  });
});
