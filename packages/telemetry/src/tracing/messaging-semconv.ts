/**
 * The OpenTelemetry semantic-convention keys Switchyard's messaging spans use, from the installed
 * `@opentelemetry/semantic-conventions` (1.45): stable keys from its root, the (still experimental) messaging and
 * RabbitMQ keys from its `incubating` entry point. Re-exported here so that telemetry stays the one package that
 * depends on OpenTelemetry.
 *
 * Deprecated in 1.45, so never emitted: `messaging.system` (now `messaging.system.name`),
 * `messaging.rabbitmq.destination.routing_key` and `messaging.rabbitmq.message.delivery_tag` (now `rabbitmq.*`),
 * `messaging.operation` (now `messaging.operation.type`). The messaging tracing specs fail on any key the installed
 * package marks `@deprecated`, so an upgrade that deprecates one of these shows.
 */
export { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
export {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM_NAME,
  ATTR_RABBITMQ_DESTINATION_ROUTING_KEY,
  ATTR_RABBITMQ_MESSAGE_DELIVERY_TAG,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_OPERATION_TYPE_VALUE_SETTLE,
  MESSAGING_SYSTEM_NAME_VALUE_RABBITMQ,
} from '@opentelemetry/semantic-conventions/incubating';
