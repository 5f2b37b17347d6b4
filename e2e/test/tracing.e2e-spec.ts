import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver, waitFor } from '@switchyard/testing';
import { http, Platform } from './platform.js';

interface User {
  id: string;
  email: string;
}

let receiver: OtlpReceiver;
let platform: Platform;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  platform = await Platform.start('tracing', {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    // JSON keeps the receiver dependency-free; a short batch delay keeps the test short.
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    DEPLOYMENT_ENVIRONMENT: 'e2e',
    K8S_POD_NAME: 'tracing-pod-0',
    K8S_NAMESPACE_NAME: 'switchyard-e2e',
  });
}, 60_000);

afterAll(async () => {
  await platform?.stop();
  await receiver?.close();
});

const isHttpServer = (span: ReceivedSpan, service: string, method: string, route: string) =>
  span.serviceName === service && span.kind === 'server' && span.attributes['http.request.method'] === method && span.attributes['http.route'] === route;

/** The single span matching `predicate`, once it has arrived. */
function waitForSpan(what: string, predicate: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
  return waitFor(what, () => receiver.spans().find(predicate), 15_000, 100);
}

describe('tracing across the outbox and RabbitMQ', () => {
  it('makes POST /users, the relay publish and order-service’s handling one trace, without PII in attributes', async () => {
    const email = `traced.${Date.now()}@example.com`;
    const created = await http<User>(platform.users.url, 'POST', '/users', { email, name: 'Traced Person', password: 'a decent passphrase' });
    expect(created.status).toBe(201);
    const userId = created.body.id;
    await waitFor('the profile in order-service', async () => (await http(platform.orders.url, 'GET', `/customers/${userId}`)).status === 200, 15_000);

    const server = await waitForSpan('user-service POST /users server span', (span) => isHttpServer(span, 'user-service', 'POST', '/users'));
    const producer = await waitForSpan('the relay publish span', (span) => span.kind === 'producer' && span.traceId === server.traceId);
    const consumer = await waitForSpan('order-service process span', (span) => span.kind === 'consumer' && span.parentSpanId === producer.spanId);

    // One trace: request → outbox row → relay publish → delivery.
    expect(producer.serviceName).toBe('user-service');
    expect(producer.name).toBe('publish switchyard.events');
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'switchyard.events',
      'messaging.rabbitmq.destination.routing_key': 'user.created',
      'messaging.operation.type': 'send',
    });
    expect(typeof producer.attributes['messaging.message.id']).toBe('string');

    expect(consumer.serviceName).toBe('order-service');
    expect(consumer.traceId).toBe(server.traceId);
    expect(consumer.name).toBe('process order-service.user-events');
    expect(consumer.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'order-service.user-events',
      'messaging.rabbitmq.destination.routing_key': 'user.created',
      'messaging.operation.type': 'process',
      'messaging.message.id': producer.attributes['messaging.message.id'],
    });
    expect(consumer.links).toEqual([]);

    // The profile write in order-service is a query made inside the consumer span.
    const profileWrite = await waitForSpan('the profile INSERT of the handler', (span) => span.serviceName === 'order-service' && span.kind === 'client' && /^INSERT INTO "public"\."customer_profiles"/.test(String(span.attributes['db.query.text'] ?? '')));
    expect(profileWrite.traceId).toBe(server.traceId);
    expect(profileWrite.parentSpanId).toBe(consumer.spanId);

    // Resource attributes.
    expect(server.resource).toMatchObject({
      'service.name': 'user-service',
      'service.version': '0.1.0',
      'deployment.environment.name': 'e2e',
      'k8s.pod.name': 'tracing-pod-0',
      'k8s.namespace.name': 'switchyard-e2e',
    });

    // Then an order: order-service's request, its publish and user-service's handling are another trace.
    const order = await http<{ id: string }>(platform.orders.url, 'POST', '/orders', { userId, items: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 1250 }] });
    expect(order.status).toBe(201);
    const orderServer = await waitForSpan('order-service POST /orders server span', (span) => isHttpServer(span, 'order-service', 'POST', '/orders'));
    const orderProducer = await waitForSpan('order.placed publish span', (span) => span.kind === 'producer' && span.traceId === orderServer.traceId);
    expect(orderProducer.attributes['messaging.rabbitmq.destination.routing_key']).toBe('order.placed');
    const orderConsumer = await waitForSpan('user-service process span', (span) => span.kind === 'consumer' && span.parentSpanId === orderProducer.spanId);
    expect(orderConsumer.serviceName).toBe('user-service');
    expect(orderConsumer.traceId).toBe(orderServer.traceId);

    // Logs carry the ids of the span they were written in.
    const logged = platform.users.process.logLines().find((line) => line.trace_id === server.traceId);
    expect(logged?.span_id).toMatch(/^[0-9a-f]{16}$/);

    // No attribute of any span (nor any resource) holds the email, the name or the password.
    const everything = JSON.stringify(receiver.spans().map((span) => [span.attributes, span.links, span.resource]));
    expect(everything).not.toContain(email);
    expect(everything.toLowerCase()).not.toContain('traced person');
    expect(everything).not.toContain('a decent passphrase');
    // Nor a URL with credentials (the broker's and databases' URLs carry them).
    expect(everything).not.toMatch(/\/\/[^/\s"@]+:[^/\s"@]+@/);
    expect(receiver.rejected()).toEqual([]);
  }, 60_000);

  it('traces no health probes', async () => {
    await http(platform.users.url, 'GET', '/health/ready');
    const marker = await http(platform.users.url, 'GET', `/users/00000000-0000-4000-8000-000000000000`);
    expect(marker.status).toBe(404);
    await waitForSpan('the GET /users/:id span', (span) => isHttpServer(span, 'user-service', 'GET', '/users/:id'));
    expect(receiver.spans().filter((span) => String(span.attributes['url.path'] ?? '').startsWith('/health/'))).toEqual([]);
  }, 30_000);
});
