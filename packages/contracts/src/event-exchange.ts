/** The one exchange every event is published to; the routing key is the event type. */
export const EVENTS_EXCHANGE = Object.freeze({
  name: 'switchyard.events',
  type: 'topic',
  durable: true,
} as const);
