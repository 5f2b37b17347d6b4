import { UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventData, LatestEventContract } from '@switchyard/contracts';
import type { EventContext } from './consumer/event-context.js';
import { SwitchyardExceptionFilter } from './consumer/switchyard-exception-filter.js';

/** The shape `@OnEvent(Contract)` accepts: the latest data of that event, and the delivery with its transaction. */
export type EventHandlerMethod<C extends LatestEventContract, Tx> = (
  data: EventData<C>,
  ctx: EventContext<Tx>,
) => Promise<void>;

/**
 * Marks a controller method as the handler of an event: `@OnEvent(UserCreatedV2)`. It is `@EventPattern` with the
 * routing key taken from the contract (never typed twice) and the method's parameters checked against it.
 * Only the latest version can be named: consumers are written against it and older ones arrive upcast.
 * It also hands the handler's errors to the transport unchanged (Nest would otherwise replace them with a generic
 * RPC error), so retries and dead letters record the real error class and message.
 */
export function OnEvent<C extends LatestEventContract>(contract: C) {
  const pattern = EventPattern(contract.type) as MethodDecorator;
  const passErrorsThrough = UseFilters(new SwitchyardExceptionFilter());
  return <Tx>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<EventHandlerMethod<C, Tx>>,
  ): void => {
    pattern(target, propertyKey, descriptor);
    passErrorsThrough(target, propertyKey, descriptor);
  };
}
