import { UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventData, LatestEventContract } from '@switchyard/contracts';
import type { EventContext } from './consumer/event-context.js';
import { SwitchyardExceptionFilter } from './consumer/switchyard-exception-filter.js';

/** The shape `@ConsumeEvent(Contract)` accepts: the latest data of that event, and the delivery with its transaction. */
export type EventHandlerMethod<C extends LatestEventContract, Tx> = (
  data: EventData<C>,
  ctx: EventContext<Tx>,
) => Promise<void>;

/** Metadata `@ConsumeEvent` leaves on the handler: the event type it consumes (start-up tells it from a bare `@EventPattern`). */
export const CONSUME_EVENT_METADATA = 'switchyard:consume-event';

/**
 * Marks a controller method as the handler of an event: `@ConsumeEvent(UserCreatedV2)`. It is `@EventPattern` with
 * the routing key taken from the contract (never typed twice) and the method's parameters checked against it.
 * Only the latest version can be named: consumers are written against it and older ones arrive upcast.
 * It also hands the handler's errors to the transport unchanged (Nest would otherwise replace them with a generic
 * RPC error), so retries and dead letters record the real error class and message; a bare `@EventPattern` would
 * lose them, so the messaging module refuses to start with one.
 * Not named `OnEvent`: `@nestjs/event-emitter` has an `@OnEvent`, and auto-import would pick the wrong one.
 */
export function ConsumeEvent<C extends LatestEventContract>(contract: C) {
  const pattern = EventPattern(contract.type) as MethodDecorator;
  const passErrorsThrough = UseFilters(new SwitchyardExceptionFilter());
  return <Tx>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<EventHandlerMethod<C, Tx>>,
  ): void => {
    pattern(target, propertyKey, descriptor);
    passErrorsThrough(target, propertyKey, descriptor);
    Reflect.defineMetadata(CONSUME_EVENT_METADATA, contract.type, descriptor.value!);
  };
}
