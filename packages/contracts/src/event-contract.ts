import type { z } from 'zod';

/** What every event's data carries: when it happened. It also becomes the AMQP timestamp and `ce-time`. */
export interface EventDataBase {
  occurredAt: string;
}

/** Any zod schema whose output has `occurredAt`: the envelope needs it, so a contract without one does not compile. */
export type EventSchema = z.ZodType<EventDataBase>;

/** One version of one event: its name (also the routing key), version, schema and stable schema URI. */
export interface EventContract<
  TType extends string = string,
  TVersion extends number = number,
  TSchema extends EventSchema = EventSchema,
> {
  readonly type: TType;
  readonly version: TVersion;
  readonly description: string;
  readonly schema: TSchema;
  /** `https://switchyard.io/schemas/events/<type>/v<version>.json`: the CloudEvents `dataschema` and the JSON Schema `$id`. */
  readonly dataschema: string;
  /**
   * The data field naming the entity the event is about (`userId`, `orderId`): its value is the event's ordering key,
   * and the outbox relay publishes the events of one key in the order they were written. None: no order promised.
   */
  readonly orderingKey?: string;
}

/** The data of an event as consumers see it once validated. */
export type EventData<C extends EventContract> = z.output<C['schema']>;

/** The names of the string fields of a schema's data: what may serve as an ordering key. */
export type StringFieldOf<TSchema extends EventSchema> = {
  [K in keyof z.output<TSchema>]: z.output<TSchema>[K] extends string ? K : never;
}[keyof z.output<TSchema>] &
  string;

export interface EventDefinition<TType extends string, TVersion extends number, TSchema extends EventSchema> {
  type: TType;
  version: TVersion;
  description: string;
  schema: TSchema;
  /** The (required, string) field holding the aggregate id: events with the same value are published in order. */
  orderingKey?: StringFieldOf<TSchema>;
}

export const DATASCHEMA_BASE_URI = 'https://switchyard.io/schemas/events';

/** Dotted lower-case words (`user.created`): usable as a routing key and free of the topic wildcards `*` and `#`. */
const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+$/;

export function dataschemaUri(type: string, version: number): string {
  return `${DATASCHEMA_BASE_URI}/${type}/v${version}.json`;
}

/**
 * Declares one version of an event. A malformed name or version throws at import time: a contract bug should
 * stop the service from starting, not surface on the wire.
 */
export function defineEvent<const TType extends string, const TVersion extends number, TSchema extends EventSchema>(
  definition: EventDefinition<TType, TVersion, TSchema>,
): EventContract<TType, TVersion, TSchema> {
  const { type, version, description, schema, orderingKey } = definition;
  if (!EVENT_TYPE_PATTERN.test(type)) {
    throw new TypeError(`event type "${type}" must be dotted lower-case words, such as user.created`);
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new TypeError(`event ${type}: version must be a positive integer, got ${version}`);
  }
  if (description.trim() === '') throw new TypeError(`event ${type} v${version}: a description is required`);
  return Object.freeze({ type, version, description, schema, dataschema: dataschemaUri(type, version), orderingKey });
}
