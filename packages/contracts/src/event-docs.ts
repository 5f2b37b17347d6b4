import YAML from 'yaml';
import { z } from 'zod';
import type { EventFamily } from './event-catalog.js';
import type { EventContract } from './event-contract.js';
import { EVENTS_EXCHANGE } from './event-exchange.js';
import {
  DOCUMENTED_DELIVERY_LIMIT,
  DOCUMENTED_RETRY_DELAYS_MS,
  EVENT_SUBSCRIPTIONS,
  type EventSubscription,
  retryTierSuffix,
} from './event-subscriptions.js';
import { eventCatalog } from './switchyard-catalog.js';
import { CLOUDEVENTS_SPEC_VERSION, EVENT_CONTENT_TYPE, EVENT_HEADERS } from './wire-envelope.js';

/** A JSON value: what the generated documents are made of. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** `info.version` of the AsyncAPI document: the package version (a spec test keeps them equal). */
export const CONTRACTS_VERSION = '0.1.0';
export const ASYNCAPI_VERSION = '3.1.0';
/** `id` of the AsyncAPI document: the application it describes, as a URN. */
export const ASYNCAPI_ID = 'urn:switchyard:events';
/** The broker as the services reach it inside the cluster. */
export const AMQP_SERVER_HOST = 'rabbitmq:5672';
const AMQP_BINDING_VERSION = '0.3.0';
const TRACEPARENT_PATTERN = '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';

/** Where each generated file goes, relative to `docs/`. */
export const ASYNCAPI_FILE = 'asyncapi.yaml';
export const SCHEMAS_DIR = 'schemas';
export function schemaFileName(contract: EventContract): string {
  return `${SCHEMAS_DIR}/${contract.type}.v${contract.version}.json`;
}

const GENERATED_NOTICE =
  ' Generated from packages/contracts by `node packages/contracts/dist/generate-docs.js`. Do not edit.';

/** `user.created` → `UserCreated`. */
function pascalCase(type: string): string {
  return type
    .split(/[.-]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** `user.created` v2 → `UserCreatedV2`, the name the contract is exported under. */
function componentName(contract: EventContract): string {
  return `${pascalCase(contract.type)}V${contract.version}`;
}

/** The contract's data as JSON Schema. `io: 'input'`: what a producer may send, unknown fields allowed. */
function dataSchema(contract: EventContract, target: 'draft-2020-12' | 'draft-7'): JsonObject {
  const { $schema: _schema, ...schema } = z.toJSONSchema(contract.schema, { target, io: 'input' });
  // z.toJSONSchema returns plain JSON for these schemas (no transforms, dates or bigints).
  return schema as JsonObject;
}

/** The standalone JSON Schema (draft 2020-12) of one event version: `docs/schemas/<type>.v<version>.json`. */
export function eventJsonSchema(contract: EventContract): JsonObject {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: contract.dataschema,
    title: `${contract.type} v${contract.version}`,
    description: contract.description,
    ...dataSchema(contract, 'draft-2020-12'),
  };
}

function headersSchema(family: EventFamily, contract: EventContract): JsonObject {
  return {
    type: 'object',
    required: [
      EVENT_HEADERS.specversion,
      EVENT_HEADERS.id,
      EVENT_HEADERS.type,
      EVENT_HEADERS.source,
      EVENT_HEADERS.time,
      EVENT_HEADERS.dataschema,
      EVENT_HEADERS.version,
    ],
    properties: {
      [EVENT_HEADERS.specversion]: {
        type: 'string',
        const: CLOUDEVENTS_SPEC_VERSION,
        description: 'CloudEvents specification version.',
      },
      [EVENT_HEADERS.id]: {
        type: 'string',
        format: 'uuid',
        description:
          'Event id, equal to the AMQP message_id; stable across re-publishes, so consumers deduplicate on it.',
      },
      [EVENT_HEADERS.type]: {
        type: 'string',
        const: contract.type,
        description: 'Event type, equal to the AMQP type property and the routing key.',
      },
      [EVENT_HEADERS.source]: {
        type: 'string',
        examples: [family.producer],
        description: 'Producing service, equal to the AMQP app_id.',
      },
      [EVENT_HEADERS.time]: {
        type: 'string',
        format: 'date-time',
        description: 'When it happened: the occurredAt of the data.',
      },
      [EVENT_HEADERS.dataschema]: {
        type: 'string',
        format: 'uri',
        const: contract.dataschema,
        description: 'JSON Schema of the data.',
      },
      [EVENT_HEADERS.version]: {
        type: 'integer',
        const: contract.version,
        description: 'Contract version of the data; consumers upcast older versions.',
      },
      [EVENT_HEADERS.traceparent]: {
        type: 'string',
        pattern: TRACEPARENT_PATTERN,
        description: 'W3C trace context of the publishing span, when traced.',
      },
      [EVENT_HEADERS.tracestate]: { type: 'string', description: 'W3C trace state, when traced.' },
    },
  };
}

function message(family: EventFamily, contract: EventContract): JsonObject {
  const name = componentName(contract);
  return {
    name: contract.type,
    title: `${contract.type} v${contract.version}`,
    summary: contract.description,
    description:
      contract === family.latest
        ? `Published by ${family.producer}.`
        : `No longer published; consumers still accept it and upcast it to v${family.latest.version}.`,
    contentType: EVENT_CONTENT_TYPE,
    headers: headersSchema(family, contract),
    payload: { $ref: `#/components/schemas/${name}` },
    bindings: { amqp: { messageType: contract.type, bindingVersion: AMQP_BINDING_VERSION } },
  };
}

const INFO_DESCRIPTION = `Every event Switchyard services exchange. Each is published to the ${EVENTS_EXCHANGE.name} topic exchange with its type as the routing key, as a JSON body with these AMQP properties:

- message_id: the event id (cloudEvents_id)
- type: the event type (cloudEvents_type)
- app_id: the producing service (cloudEvents_source)
- timestamp: occurredAt, in seconds
- content_type: ${EVENT_CONTENT_TYPE}
- correlation_id: the cause of the event; the event id when it has none

Publishers always emit the latest version of a type. Consumers accept every listed version and upcast older ones to the latest; unknown fields are ignored, so adding an optional field is not a new version.
`;

/** Publisher settings every send uses: persistent (delivery mode 2), mandatory (unroutable is an error), timestamped. */
const SEND_BINDINGS: JsonObject = {
  amqp: { deliveryMode: 2, mandatory: true, timestamp: true, bindingVersion: AMQP_BINDING_VERSION },
};

function queueBinding(name: string): JsonObject {
  return {
    amqp: {
      is: 'queue',
      queue: { name, durable: true, exclusive: false, autoDelete: false, vhost: '/' },
      bindingVersion: AMQP_BINDING_VERSION,
    },
  };
}

/** The queue channels of one consumer: its work queue, one per default retry tier, and its DLQ. */
function queueChannels(subscription: EventSubscription, messages: JsonObject): Array<[string, JsonObject]> {
  const { queue, service } = subscription;
  const types = subscription.eventTypes.join(', ');
  const channel = (name: string, title: string, description: string): [string, JsonObject] => [
    name,
    { address: name, title, description, messages, bindings: queueBinding(name) },
  ];
  return [
    channel(
      queue,
      `${service} work queue`,
      `Quorum queue of ${service}, bound to ${EVENTS_EXCHANGE.name} for ${types}; x-delivery-limit ${DOCUMENTED_DELIVERY_LIMIT}, dead-letters to ${queue}.dlq. Acknowledged only after the handler's transaction (with the inbox row) commits, or after its retry or dead-letter copy is confirmed.`,
    ),
    ...DOCUMENTED_RETRY_DELAYS_MS.map((delayMs) =>
      channel(
        `${queue}.retry.${retryTierSuffix(delayMs)}`,
        `${service} retry tier ${retryTierSuffix(delayMs)}`,
        `Quorum queue holding failed deliveries for ${retryTierSuffix(delayMs)} (x-message-ttl ${delayMs}), then dead-lettering them back to ${queue} through the default exchange. The consumer publishes copies here (x-attempt, x-last-error, x-original-routing-key, x-original-exchange). Default tiers; a deployment may configure others.`,
      ),
    ),
    channel(
      `${queue}.dlq`,
      `${service} dead-letter queue`,
      `Quorum queue of the messages ${service} gave up on, with why in their headers (x-death-reason, x-error-class, x-error-message, x-attempts, x-first-failure-at, x-last-failure-at, x-consumer-service, x-consumer-queue). Inspected and replayed with \`switchyard dlq\`.`,
    ),
  ];
}

/** The AsyncAPI 3.1.0 document of a catalog: one channel per event type, one message per version, and the consumers' queues. */
export function buildAsyncApiDocument(
  families: readonly EventFamily[] = eventCatalog.eventFamilies,
  subscriptions: readonly EventSubscription[] = EVENT_SUBSCRIPTIONS,
): JsonObject {
  const channels: JsonObject = {};
  const operations: JsonObject = {};
  const messages: JsonObject = {};
  const schemas: JsonObject = {};

  for (const family of families) {
    const channelMessages: JsonObject = {};
    for (const contract of family.versions) {
      const name = componentName(contract);
      channelMessages[name] = { $ref: `#/components/messages/${name}` };
      messages[name] = message(family, contract);
      schemas[name] = {
        title: `${contract.type} v${contract.version}`,
        description: contract.description,
        ...dataSchema(contract, 'draft-7'),
      };
    }
    channels[family.type] = {
      address: family.type,
      title: family.type,
      description: `${family.type} events, routed by their type on the ${EVENTS_EXCHANGE.name} exchange.`,
      messages: channelMessages,
      bindings: {
        amqp: {
          is: 'routingKey',
          exchange: {
            name: EVENTS_EXCHANGE.name,
            type: EVENTS_EXCHANGE.type,
            durable: EVENTS_EXCHANGE.durable,
            autoDelete: false,
            vhost: '/',
          },
          bindingVersion: AMQP_BINDING_VERSION,
        },
      },
    };
    operations[`send${pascalCase(family.type)}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${family.type}` },
      title: `${family.producer} publishes ${family.type}`,
      summary: `${family.producer} publishes ${family.type} v${family.latest.version}, the latest version.`,
      tags: [{ name: family.producer }],
      messages: [{ $ref: `#/channels/${family.type}/messages/${componentName(family.latest)}` }],
      bindings: SEND_BINDINGS,
    };
  }

  for (const subscription of subscriptions) {
    const subscribed = subscription.eventTypes.map((type) => {
      const family = families.find((candidate) => candidate.type === type);
      if (!family)
        throw new TypeError(`${subscription.service} subscribes to ${type}, which the catalog does not know`);
      return family;
    });
    const channelMessages: JsonObject = {};
    for (const family of subscribed)
      for (const contract of family.versions)
        channelMessages[componentName(contract)] = { $ref: `#/components/messages/${componentName(contract)}` };
    const channelsOfQueue = queueChannels(subscription, channelMessages);
    for (const [name, channel] of channelsOfQueue) channels[name] = channel;
    const [retries, deadLetters] = [channelsOfQueue.slice(1, -1).map(([name]) => name), channelsOfQueue.at(-1)![0]];
    const serviceName = pascalCase(subscription.service);
    operations[`receive${serviceName}Events`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${subscription.queue}` },
      title: `${subscription.service} consumes ${subscription.eventTypes.join(', ')}`,
      summary: `${subscription.service} handles every version of ${subscription.eventTypes.join(', ')} from ${subscription.queue}, older ones upcast to the latest.`,
      tags: [{ name: subscription.service }],
      messages: Object.keys(channelMessages).map((name) => ({
        $ref: `#/channels/${subscription.queue}/messages/${name}`,
      })),
      bindings: { amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION } },
    };
    for (const name of retries) {
      operations[`send${serviceName}Retry${pascalCase(name.slice(name.lastIndexOf('.') + 1))}`] = {
        action: 'send',
        channel: { $ref: `#/channels/${name}` },
        title: `${subscription.service} retries a failed delivery`,
        summary: `${subscription.service} republishes a failed delivery to ${name} (same message id and body), then acks the original.`,
        tags: [{ name: subscription.service }],
        messages: Object.keys(channelMessages).map((message) => ({ $ref: `#/channels/${name}/messages/${message}` })),
        bindings: SEND_BINDINGS,
      };
    }
    operations[`send${serviceName}DeadLetter`] = {
      action: 'send',
      channel: { $ref: `#/channels/${deadLetters}` },
      title: `${subscription.service} dead-letters a delivery`,
      summary: `${subscription.service} republishes a delivery it gives up on to ${deadLetters}, then acks the original.`,
      tags: [{ name: subscription.service }],
      messages: Object.keys(channelMessages).map((message) => ({
        $ref: `#/channels/${deadLetters}/messages/${message}`,
      })),
      bindings: SEND_BINDINGS,
    };
  }

  return {
    asyncapi: ASYNCAPI_VERSION,
    id: ASYNCAPI_ID,
    info: {
      title: 'Switchyard events',
      version: CONTRACTS_VERSION,
      description: INFO_DESCRIPTION,
      contact: { name: 'Switchyard maintainers', url: 'https://switchyard.io' },
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    defaultContentType: EVENT_CONTENT_TYPE,
    servers: {
      rabbitmq: {
        host: AMQP_SERVER_HOST,
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description: 'RabbitMQ, as the services reach it in the cluster.',
        security: [{ $ref: '#/components/securitySchemes/rabbitmqUser' }],
      },
    },
    channels,
    operations,
    components: {
      messages,
      schemas,
      securitySchemes: {
        rabbitmqUser: {
          type: 'userPassword',
          description:
            'A RabbitMQ user and password (AMQP PLAIN), from RABBITMQ_URL; each service its own user in production.',
        },
      },
    },
  };
}

/**
 * Every generated docs file, keyed by its path relative to `docs/`, rendered exactly as it is committed.
 * Pure and deterministic (keys in declaration order, trailing newline), so a test can compare it with disk.
 */
export function renderEventDocs(
  families: readonly EventFamily[] = eventCatalog.eventFamilies,
): ReadonlyMap<string, string> {
  const files = new Map<string, string>();
  const document = new YAML.Document(buildAsyncApiDocument(families));
  document.commentBefore = GENERATED_NOTICE;
  files.set(ASYNCAPI_FILE, document.toString({ lineWidth: 0 }));
  for (const family of families) {
    for (const contract of family.versions) {
      files.set(schemaFileName(contract), `${JSON.stringify(eventJsonSchema(contract), null, 2)}\n`);
    }
  }
  return files;
}
