import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Jaeger, type JaegerSpan, type JaegerTrace, startJaeger, waitFor } from '@switchyard/testing';
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
  span.serviceName === service && span.kind === 'server' && span.tags['http.request.method'] === method && span.tags['http.route'] === route;

/** Every span Jaeger holds of traces that `service` took part in. */
async function spansOf(service: string): Promise<JaegerSpan[]> {
  return (await jaeger.traces(service)).flatMap((trace) => trace.spans);
}

/** The span of `service` matching `predicate`, once Jaeger has stored it (it ingests asynchronously). */
function waitForSpan(what: string, service: string, predicate: (span: JaegerSpan) => boolean): Promise<JaegerSpan> {
  return waitFor(what, async () => (await spansOf(service)).find(predicate), 15_000, 200);
}

/** The trace `traceId` once it holds spans matching every predicate (spans of both services arrive separately). */
function waitForTrace(what: string, traceId: string, ...predicates: Array<(trace: JaegerTrace) => boolean>): Promise<JaegerTrace> {
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

/** The spans from `span` up to the root, following Jaeger's CHILD_OF references within `trace`. */
function ancestry(trace: JaegerTrace, span: JaegerSpan): JaegerSpan[] {
  const byId = new Map(trace.spans.map((each) => [each.spanId, each]));
  const chain = [span];
  for (let parent = span.parentSpanId; parent !== undefined; ) {
    const next = byId.get(parent);
    if (!next || chain.includes(next)) break;
    chain.push(next);
    parent = next.parentSpanId;
  }
  return chain;
}

const one = (trace: JaegerTrace, what: string, predicate: (span: JaegerSpan) => boolean): JaegerSpan => {
  const found = trace.spans.filter(predicate);
  if (found.length !== 1) throw new Error(`expected one ${what} in trace ${trace.traceId}, found ${found.length}: ${found.map((span) => span.operationName).join(', ')}`);
  return found[0]!;
};

describe('tracing across the outbox and RabbitMQ, as Jaeger shows it', () => {
  it('makes POST /users, the relay publish and order-service’s handling one trace, without PII in attributes', async () => {
    const email = `traced.${Date.now()}@example.com`;
    const created = await http<User>(platform.users.url, 'POST', '/users', { email, name: 'Traced Person', password: 'a decent passphrase' });
    expect(created.status).toBe(201);
    const userId = created.body.id;
    await waitFor('the profile in order-service', async () => (await http(platform.orders.url, 'GET', `/customers/${userId}`)).status === 200, 15_000);

    const server = await waitForSpan('user-service POST /users server span in Jaeger', 'user-service', (span) => isHttpServer(span, 'user-service', 'POST', '/users'));
    const isProducer = (span: JaegerSpan) => span.serviceName === 'user-service' && span.kind === 'producer';
    const isConsumer = (span: JaegerSpan) => span.serviceName === 'order-service' && span.kind === 'consumer';
    const isProfileWrite = (span: JaegerSpan) =>
      span.serviceName === 'order-service' && span.kind === 'client' && /^INSERT INTO "public"\."customer_profiles"/.test(String(span.tags['db.query.text'] ?? ''));
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
    expect(consumer.references).toEqual([{ refType: 'CHILD_OF', traceId: server.traceId, spanId: producer.spanId }]);
    expect(consumer.parentSpanId).toBe(producer.spanId);
    // Up from the consumer: the producer, and through the outbox write, the POST /users server span.
    const chain = ancestry(trace, consumer).map((span) => `${span.serviceName} ${span.kind ?? 'internal'}`);
    expect(chain.slice(0, 2)).toEqual(['order-service consumer', 'user-service producer']);
    expect(ancestry(trace, consumer).map((span) => span.spanId)).toContain(server.spanId);

    expect(producer.operationName).toBe('publish switchyard.events');
    expect(producer.tags).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'switchyard.events',
      'messaging.rabbitmq.destination.routing_key': 'user.created',
      'messaging.operation.name': 'publish',
      'messaging.operation.type': 'send',
    });
    expect(typeof producer.tags['messaging.message.id']).toBe('string');

    expect(consumer.operationName).toBe('process order-service.user-events');
    expect(consumer.tags).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'order-service.user-events',
      'messaging.rabbitmq.destination.routing_key': 'user.created',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.message.id': producer.tags['messaging.message.id'],
      'switchyard.delivery.attempt': 1,
    });

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
    const order = await http<{ id: string }>(platform.orders.url, 'POST', '/orders', { userId, items: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 1250 }] });
    expect(order.status).toBe(201);
    const orderServer = await waitForSpan('order-service POST /orders server span in Jaeger', 'order-service', (span) => isHttpServer(span, 'order-service', 'POST', '/orders'));
    const isOrderProducer = (span: JaegerSpan) => span.serviceName === 'order-service' && span.kind === 'producer';
    const isOrderConsumer = (span: JaegerSpan) => span.serviceName === 'user-service' && span.kind === 'consumer';
    const orderTrace = await waitForTrace('the order.placed publish and user-service’s handling in the POST /orders trace', orderServer.traceId, (found) => found.spans.some(isOrderProducer), (found) => found.spans.some(isOrderConsumer));
    expect(orderTrace.traceId).not.toBe(trace.traceId);
    const orderProducer = one(orderTrace, 'order-service PRODUCER span', isOrderProducer);
    const orderConsumer = one(orderTrace, 'user-service CONSUMER span', isOrderConsumer);
    expect(orderProducer.tags['messaging.rabbitmq.destination.routing_key']).toBe('order.placed');
    expect(orderConsumer.parentSpanId).toBe(orderProducer.spanId);
    expect(orderConsumer.tags).toMatchObject({ 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'process', 'messaging.message.id': orderProducer.tags['messaging.message.id'] });

    // Logs carry the ids of the span they were written in.
    const logged = platform.users.process.logLines().find((line) => line.trace_id === server.traceId);
    expect(logged?.span_id).toMatch(/^[0-9a-f]{16}$/);

    // No tag of any span Jaeger holds (nor any process tag) holds the email, the name or the password.
    const everything = JSON.stringify([...(await spansOf('user-service')), ...(await spansOf('order-service'))].map((span) => [span.operationName, span.tags, span.references, span.process]));
    expect(everything).toContain(server.spanId);
    expect(everything).not.toContain(email);
    expect(everything.toLowerCase()).not.toContain('traced person');
    expect(everything).not.toContain('a decent passphrase');
    // Nor a URL with credentials (the broker's and databases' URLs carry them).
    expect(everything).not.toMatch(/\/\/[^/\s"@]+:[^/\s"@]+@/);
  }, 60_000);

  it('traces no health probes', async () => {
    await http(platform.users.url, 'GET', '/health/ready');
    const marker = await http(platform.users.url, 'GET', `/users/00000000-0000-4000-8000-000000000000`);
    expect(marker.status).toBe(404);
    // The probe was answered before the marker request, so its span (were there one) would be exported no later.
    await waitForSpan('the GET /users/:id span in Jaeger', 'user-service', (span) => isHttpServer(span, 'user-service', 'GET', '/users/:id'));
    expect((await spansOf('user-service')).filter((span) => String(span.tags['url.path'] ?? '').startsWith('/health/'))).toEqual([]);
    expect((await spansOf('user-service')).filter((span) => span.operationName.includes('/health'))).toEqual([]);
  }, 30_000);
});
