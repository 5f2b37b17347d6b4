import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { toWireMessage, UserUpdatedV1 } from '@switchyard/contracts';
import { type Jaeger, type JaegerSpan, type JaegerTrace, startJaeger, waitFor } from '@switchyard/testing';
import amqp from 'amqplib';
import { randomBytes, randomUUID } from 'node:crypto';
import { http, Platform } from './platform.js';

interface User {
  id: string;
  email: string;
}

// The services export to a real Jaeger v2 (scripts/engines/build.sh jaeger), over OTLP/HTTP protobuf as in
// production, and everything below is asserted through Jaeger's HTTP query API.
let jaeger: Jaeger;
let platform: Platform;

beforeAll(async () => {
  jaeger = await startJaeger();
  platform = await Platform.start('tracing', {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    // A short batch delay keeps the test short.
    OTEL_BSP_SCHEDULE_DELAY: '100',
    DEPLOYMENT_ENVIRONMENT: 'e2e',
    K8S_POD_NAME: 'tracing-pod-0',
    K8S_NAMESPACE_NAME: 'switchyard-e2e',
  });
  // A cold machine builds Jaeger first (minutes); once cached, starting it takes about a second.
}, 20 * 60_000);

afterAll(async () => {
  await platform?.stop();
  await jaeger?.stop();
});

const isHttpServer = (span: JaegerSpan, service: string, method: string, route: string) =>
  span.serviceName === service &&
  span.kind === 'server' &&
  span.tags['http.request.method'] === method &&
  span.tags['http.route'] === route;

/** Every span Jaeger holds of traces that `service` took part in. */
async function spansOf(service: string): Promise<JaegerSpan[]> {
  return (await jaeger.traces(service)).flatMap((trace) => trace.spans);
}

/** The span of `service` matching `predicate`, once Jaeger has stored it (it ingests asynchronously). */
function waitForSpan(what: string, service: string, predicate: (span: JaegerSpan) => boolean): Promise<JaegerSpan> {
  return waitFor(what, async () => (await spansOf(service)).find(predicate), 15_000, 200);
}

/** The trace `traceId` once it holds spans matching every predicate (spans of both services arrive separately). */
function waitForTrace(
  what: string,
  traceId: string,
  ...predicates: Array<(trace: JaegerTrace) => boolean>
): Promise<JaegerTrace> {
  return waitFor(
    what,
    async () => {
      const trace = await jaeger.trace(traceId);
      return trace && predicates.every((predicate) => predicate(trace)) ? trace : undefined;
    },
    15_000,
    200,
  );
}

/**
 * The span's parent as Jaeger shows it: its first reference. A process span's parent is also its creation-context
 * link, and Jaeger's OTLP translation (collector-contrib `makeJaegerProtoReferences`) merges a link equal to the parent
 * into that one reference, typed FOLLOWS_FROM; it stays first, which is what Jaeger's UI nests spans by.
 */
const parentOf = (span: JaegerSpan): string | undefined => span.references[0]?.spanId;

/** The spans from `span` up to the root, following each span's parent reference within `trace`. */
function ancestry(trace: JaegerTrace, span: JaegerSpan): JaegerSpan[] {
  const byId = new Map(trace.spans.map((each) => [each.spanId, each]));
  const chain = [span];
  for (let parent = parentOf(span); parent !== undefined;) {
    const next = byId.get(parent);
    if (!next || chain.includes(next)) break;
    chain.push(next);
    parent = parentOf(next);
  }
  return chain;
}

const one = (trace: JaegerTrace, what: string, predicate: (span: JaegerSpan) => boolean): JaegerSpan => {
  const found = trace.spans.filter(predicate);
  if (found.length !== 1)
    throw new Error(
      `expected one ${what} in trace ${trace.traceId}, found ${found.length}: ${found.map((span) => span.operationName).join(', ')}`,
    );
  return found[0]!;
};

describe('tracing across the outbox and RabbitMQ, as Jaeger shows it', () => {
  it('makes POST /users, the relay publish and order-service’s handling one trace, without PII in attributes', async () => {
    const email = `traced.${Date.now()}@example.com`;
    const password = 'a decent passphrase';
    const created = await http<User>(platform.users.url, 'POST', '/users', { email, name: 'Traced Person', password });
    expect(created.status).toBe(201);
    const userId = created.body.id;
    const { access_token: token } = (
      await http<{ access_token: string }>(platform.users.url, 'POST', '/auth/token', { email, password })
    ).body;
    await waitFor(
      'the profile in order-service',
      async () => (await http(platform.orders.url, 'GET', `/customers/${userId}`, undefined, token)).status === 200,
      15_000,
    );

    const server = await waitForSpan('user-service POST /users server span in Jaeger', 'user-service', (span) =>
      isHttpServer(span, 'user-service', 'POST', '/users'),
    );
    const isProducer = (span: JaegerSpan) => span.serviceName === 'user-service' && span.kind === 'producer';
    const isConsumer = (span: JaegerSpan) => span.serviceName === 'order-service' && span.kind === 'consumer';
    const isProfileWrite = (span: JaegerSpan) =>
      span.serviceName === 'order-service' &&
      span.kind === 'client' &&
      /^INSERT INTO "public"\."customer_profiles"/.test(String(span.tags['db.query.text'] ?? ''));
    const trace = await waitForTrace(
      'the relay publish, order-service’s process span and its profile INSERT in the POST /users trace',
      server.traceId,
      (found) => found.spans.some(isProducer),
      (found) => found.spans.some(isConsumer),
      (found) => found.spans.some(isProfileWrite),
    );

    // One trace: request → outbox row → relay publish (PRODUCER) → delivery (CONSUMER).
    const producer = one(trace, 'user-service PRODUCER span', isProducer);
    const consumer = one(trace, 'order-service CONSUMER span', isConsumer);
    expect(consumer.traceId).toBe(server.traceId);
    // Parent and creation-context link, on this first delivery too: one reference once Jaeger merged them (above).
    expect(consumer.references).toEqual([
      { refType: 'FOLLOWS_FROM', traceId: server.traceId, spanId: producer.spanId },
    ]);
    expect(parentOf(consumer)).toBe(producer.spanId);
    // Up from the consumer: the producer, and through the outbox write, the POST /users server span.
    const chain = ancestry(trace, consumer).map((span) => `${span.serviceName} ${span.kind ?? 'internal'}`);
    expect(chain.slice(0, 2)).toEqual(['order-service consumer', 'user-service producer']);
    expect(ancestry(trace, consumer).map((span) => span.spanId)).toContain(server.spanId);

    // Semantic conventions of the installed @opentelemetry/semantic-conventions, no deprecated key (the package's own
    // deprecation markers are checked in the messaging specs; these are the ones it deprecates for RabbitMQ).
    const brokerUrl = new URL(platform.vhost.url);
    const broker = { 'server.address': brokerUrl.hostname, 'server.port': Number(brokerUrl.port || 5672) };
    expect(producer.operationName).toBe('publish switchyard.events:user.created');
    expect(producer.tags).toMatchObject({
      'messaging.system.name': 'rabbitmq',
      'messaging.destination.name': 'switchyard.events:user.created',
      'rabbitmq.destination.routing_key': 'user.created',
      'messaging.operation.name': 'publish',
      'messaging.operation.type': 'send',
      ...broker,
    });
    expect(typeof producer.tags['messaging.message.id']).toBe('string');
    // The conversation id is the AMQP correlationId (the event id when the write gave none).
    expect(producer.tags['messaging.message.conversation_id']).toEqual(expect.any(String));

    const destination = 'switchyard.events:user.created:order-service.user-events';
    expect(consumer.operationName).toBe(`process ${destination}`);
    expect(consumer.tags).toMatchObject({
      'messaging.system.name': 'rabbitmq',
      'messaging.destination.name': destination,
      'rabbitmq.destination.routing_key': 'user.created',
      'rabbitmq.message.delivery_tag': expect.any(Number),
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.message.id': producer.tags['messaging.message.id'],
      'messaging.message.conversation_id': producer.tags['messaging.message.conversation_id'],
      'switchyard.delivery.attempt': 1,
      ...broker,
    });
    // The ack: a CLIENT settle span under the process span, linked to the creation context.
    const ack = one(trace, 'ack span', (span) => span.operationName === `ack ${destination}`);
    expect(ack.kind).toBe('client');
    expect(ack.tags).toMatchObject({
      'messaging.operation.name': 'ack',
      'messaging.operation.type': 'settle',
      'rabbitmq.message.delivery_tag': consumer.tags['rabbitmq.message.delivery_tag'],
      ...broker,
    });
    expect(ack.references).toEqual([
      { refType: 'CHILD_OF', traceId: server.traceId, spanId: consumer.spanId },
      { refType: 'FOLLOWS_FROM', traceId: server.traceId, spanId: producer.spanId },
    ]);
    const deprecatedKeys = [
      'messaging.system',
      'messaging.rabbitmq.destination.routing_key',
      'messaging.rabbitmq.message.delivery_tag',
      'messaging.operation',
    ];
    expect(trace.spans.flatMap((span) => Object.keys(span.tags)).filter((key) => deprecatedKeys.includes(key))).toEqual(
      [],
    );

    // The profile write in order-service is a query made inside the consumer span.
    const profileWrite = one(trace, 'profile INSERT', isProfileWrite);
    expect(profileWrite.parentSpanId).toBe(consumer.spanId);

    // Resource attributes: service.name is Jaeger's process name, the rest its process tags.
    expect(server.serviceName).toBe('user-service');
    expect(server.process).toMatchObject({
      'service.version': '0.1.0',
      'deployment.environment.name': 'e2e',
      'k8s.pod.name': 'tracing-pod-0',
      'k8s.namespace.name': 'switchyard-e2e',
    });
    expect(consumer.process).toMatchObject({ 'service.version': '0.1.0', 'deployment.environment.name': 'e2e' });

    // Then an order: order-service's request, its publish and user-service's handling are another trace.
    const order = await http<{ id: string }>(
      platform.orders.url,
      'POST',
      '/orders',
      { userId, items: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 1250 }] },
      token,
    );
    expect(order.status).toBe(201);
    const orderServer = await waitForSpan('order-service POST /orders server span in Jaeger', 'order-service', (span) =>
      isHttpServer(span, 'order-service', 'POST', '/orders'),
    );
    const isOrderProducer = (span: JaegerSpan) => span.serviceName === 'order-service' && span.kind === 'producer';
    const isOrderConsumer = (span: JaegerSpan) => span.serviceName === 'user-service' && span.kind === 'consumer';
    const orderTrace = await waitForTrace(
      'the order.placed publish and user-service’s handling in the POST /orders trace',
      orderServer.traceId,
      (found) => found.spans.some(isOrderProducer),
      (found) => found.spans.some(isOrderConsumer),
    );
    expect(orderTrace.traceId).not.toBe(trace.traceId);
    const orderProducer = one(orderTrace, 'order-service PRODUCER span', isOrderProducer);
    const orderConsumer = one(orderTrace, 'user-service CONSUMER span', isOrderConsumer);
    expect(orderProducer.operationName).toBe('publish switchyard.events:order.placed');
    expect(orderProducer.tags['rabbitmq.destination.routing_key']).toBe('order.placed');
    expect(parentOf(orderConsumer)).toBe(orderProducer.spanId);
    expect(orderConsumer.operationName).toBe('process switchyard.events:order.placed:user-service.order-events');
    expect(orderConsumer.tags).toMatchObject({
      'messaging.system.name': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.message.id': orderProducer.tags['messaging.message.id'],
    });

    // Logs carry the ids of the span they were written in.
    const logged = platform.users.process.logLines().find((line) => line.trace_id === server.traceId);
    expect(logged?.span_id).toMatch(/^[0-9a-f]{16}$/);

    // No tag of any span Jaeger holds (nor any process tag) holds the email, the name, the password or the token.
    const everything = JSON.stringify(
      [...(await spansOf('user-service')), ...(await spansOf('order-service'))].map((span) => [
        span.operationName,
        span.tags,
        span.references,
        span.process,
      ]),
    );
    expect(everything).toContain(server.spanId);
    expect(everything).not.toContain(email);
    expect(everything.toLowerCase()).not.toContain('traced person');
    expect(everything).not.toContain('a decent passphrase');
    expect(everything).not.toContain(token.split('.')[2]);
    // Nor a URL with credentials (the broker's and databases' URLs carry them).
    expect(everything).not.toMatch(/\/\/[^/\s"@]+:[^/\s"@]+@/);
  }, 60_000);

  it('traces each retry and the dead-letter republish under the delivery that failed, linked to the creation context', async () => {
    // An update for a user order-service never heard of fails every attempt: retried through the 200 ms and 400 ms
    // tiers, then dead-lettered. Published with a creation context of our own, so its trace is ours to read.
    const traceId = randomBytes(16).toString('hex');
    const creationSpanId = randomBytes(8).toString('hex');
    const update = toWireMessage({
      eventId: randomUUID(),
      contract: UserUpdatedV1,
      data: { userId: randomUUID(), changes: { name: 'Nobody' }, occurredAt: new Date().toISOString() },
      source: 'tracing-test',
      traceparent: `00-${traceId}-${creationSpanId}-01`,
    });
    // As user-service, the producer the catalog names for user events: anything else is dead-lettered as forged.
    const broker = await amqp.connect(platform.vhost.identityUrl('user-service'));
    try {
      const channel = await broker.createConfirmChannel();
      channel.publish('switchyard.events', update.routingKey, update.content, {
        persistent: true,
        ...update.properties,
        userId: 'user-service',
      });
      await channel.waitForConfirms();
    } finally {
      await broker.close();
    }

    const queue = 'order-service.user-events';
    const destination = `switchyard.events:user.updated:${queue}`;
    const isProcess = (span: JaegerSpan) => span.kind === 'consumer' && span.operationName === `process ${destination}`;
    const trace = await waitForTrace(
      'three failed attempts, two retry republishes and the dead-letter republish',
      traceId,
      (found) => found.spans.filter(isProcess).length === 3,
      (found) => found.spans.some((span) => span.operationName === `publish ${queue}.dlq`),
      (found) => found.spans.filter((span) => span.operationName === `ack ${destination}`).length === 3,
    );
    const creationLink = { refType: 'FOLLOWS_FROM', traceId, spanId: creationSpanId };
    const attempts = trace.spans
      .filter(isProcess)
      .sort((a, b) => Number(a.tags['switchyard.delivery.attempt']) - Number(b.tags['switchyard.delivery.attempt']));
    expect(attempts.map((span) => span.tags['switchyard.delivery.attempt'])).toEqual([1, 2, 3]);
    for (const attempt of attempts) {
      // Every attempt (the first too) under the creation context and linked to it; all name the original exchange and routing key.
      expect(attempt.references).toEqual([creationLink]);
      expect(attempt.tags).toMatchObject({
        'messaging.destination.name': destination,
        'rabbitmq.destination.routing_key': 'user.updated',
        'messaging.message.id': update.properties.messageId,
        'error.type': expect.any(String),
      });
    }
    const republishes = [`publish ${queue}.retry.200ms`, `publish ${queue}.retry.400ms`, `publish ${queue}.dlq`].map(
      (name) => one(trace, name, (span) => span.operationName === name),
    );
    republishes.forEach((republish, index) => {
      expect(republish.kind).toBe('client');
      expect(republish.references).toEqual([
        { refType: 'CHILD_OF', traceId, spanId: attempts[index]!.spanId },
        creationLink,
      ]);
      expect(republish.tags).toMatchObject({
        'messaging.system.name': 'rabbitmq',
        'messaging.operation.name': 'publish',
        'messaging.operation.type': 'send',
        'messaging.destination.name': republish.operationName.slice('publish '.length),
        'switchyard.republish.route': index < 2 ? 'retry' : 'dead_letter',
        'messaging.message.id': update.properties.messageId,
      });
    });
    // Each attempt is acked once its copy is confirmed, in a settle span under it.
    for (const attempt of attempts) {
      expect(
        one(
          trace,
          'ack of an attempt',
          (span) => span.operationName === `ack ${destination}` && parentOf(span) === attempt.spanId,
        ).tags['messaging.operation.type'],
      ).toBe('settle');
    }
  }, 30_000);

  it('traces no health probes', async () => {
    // An admin, so that a user that does not exist is a 404 (anyone else gets 403 for an id not its own).
    const admin = await platform.signUpAdmin();
    await http(platform.users.url, 'GET', '/health/ready');
    const marker = await http(
      platform.users.url,
      'GET',
      `/users/00000000-0000-4000-8000-000000000000`,
      undefined,
      admin.token,
    );
    expect(marker.status).toBe(404);
    // The probe was answered before the marker request, so its span (were there one) would be exported no later.
    await waitForSpan('the GET /users/:id span in Jaeger', 'user-service', (span) =>
      isHttpServer(span, 'user-service', 'GET', '/users/:id'),
    );
    expect(
      (await spansOf('user-service')).filter((span) => String(span.tags['url.path'] ?? '').startsWith('/health/')),
    ).toEqual([]);
    expect((await spansOf('user-service')).filter((span) => span.operationName.includes('/health'))).toEqual([]);
  }, 30_000);
});
