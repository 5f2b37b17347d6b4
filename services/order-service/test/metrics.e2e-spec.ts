import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { toWireMessage, UserCreatedV2 } from '@switchyard/contracts';
import {
  createTestDatabase,
  createTestVhost,
  IdentityPublisher,
  promtoolProblems,
  samples,
  type TestDatabase,
  type TestVhost,
  valueOf,
  waitFor,
  withToken,
} from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import { MetricsServer } from '@switchyard/service-kit';
import request from 'supertest';
import { EVENT_QUEUE, SCHEMA_PATH } from '../src/app.module.js';
import { startOrderServiceApp, testTokenIssuer } from './order-service-app.js';

const SERVICE = 'order-service';

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let producer: IdentityPublisher;
let http: ReturnType<typeof request>;
/** The separate `/metrics` listener (METRICS_PORT). */
let metricsHttp: ReturnType<typeof request>;

beforeAll(async () => {
  [db, vhost] = await Promise.all([
    createTestDatabase('orders_metrics', SCHEMA_PATH),
    createTestVhost('orders_metrics'),
  ]);
  app = await startOrderServiceApp(db.url, vhost.identityUrl('order-service'));
  http = request(app.getHttpServer());
  metricsHttp = request(app.get(MetricsServer).httpServer);
  producer = await IdentityPublisher.connect(vhost, 'user-service');
});

afterAll(async () => {
  await producer?.close();
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

async function scrape(): Promise<string> {
  const response = await metricsHttp.get('/metrics').expect(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text;
}

describe('GET /metrics on order-service', () => {
  it('exposes HTTP, messaging, outbox and runtime series, each labelled with the service, and passes promtool', async () => {
    const userId = randomUUID();
    const data = {
      userId,
      email: `${userId}@example.com`,
      name: 'Mia',
      marketingOptIn: false,
      locale: 'en',
      occurredAt: new Date().toISOString(),
    };
    const wire = toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data, source: 'user-service' });
    await producer.publish('switchyard.events', wire.routingKey, wire.content, {
      persistent: true,
      ...wire.properties,
    });
    const customer = withToken(http, await (await testTokenIssuer()).token(userId));
    await waitFor('the customer profile', async () => (await customer.get(`/customers/${userId}`)).status === 200);
    await customer
      .post('/orders')
      .send({ userId, items: [{ sku: 'sku-1', quantity: 2, unitPriceCents: 250 }] })
      .expect(201);
    await http.get('/no-such-route').expect(404);

    const consumed = { queue: EVENT_QUEUE, event_type: 'user.created' };
    const queues = [EVENT_QUEUE, `${EVENT_QUEUE}.retry.1s`, `${EVENT_QUEUE}.retry.10m`, `${EVENT_QUEUE}.dlq`];
    // Counters and samplers fill in asynchronously: scrape until the event was consumed and every queue sampled.
    let text = '';
    await waitFor('the consumed event and queue depths in a scrape', async () => {
      text = await scrape();
      const all = samples(text);
      return (
        valueOf(all, 'messaging_messages_consumed_total', { ...consumed, outcome: 'ack' }) === 1 &&
        queues.every((queue) => valueOf(all, 'messaging_queue_depth', { queue }) !== undefined) &&
        valueOf(all, 'messaging_published_total', { event_type: 'order.placed' }) !== undefined
      );
    }).catch(() => undefined);
    const all = samples(text);
    const value = (name: string, labels: Record<string, string> = {}) =>
      valueOf(all, name, { service: SERVICE, ...labels });

    expect(value('messaging_messages_consumed_total', { ...consumed, outcome: 'ack' })).toBe(1);
    expect(value('messaging_consumer_lag_seconds_count', consumed)).toBe(1);
    // Nothing consumes order.placed in this vhost, so the relay's publishes come back returned; either way, counted.
    expect(value('messaging_published_total', { event_type: 'order.placed' })).toBeGreaterThanOrEqual(1);
    expect(value('messaging_publish_confirm_seconds_count', { event_type: 'order.placed' })).toBeGreaterThanOrEqual(1);
    for (const queue of queues) {
      expect([queue, value('messaging_queue_depth', { queue })]).toEqual([queue, expect.any(Number)]);
    }
    expect(value('messaging_outbox_pending')).toEqual(expect.any(Number));
    expect(value('messaging_outbox_oldest_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(value('messaging_outbox_parked_rows')).toBe(0);
    expect(text).toMatch(/^# TYPE messaging_retries_total counter$/m);
    expect(text).toMatch(/^# TYPE messaging_dead_lettered_total counter$/m);
    expect(value('http_request_duration_seconds_count', { method: 'POST', route: '/orders', status_code: '201' })).toBe(
      1,
    );
    expect(
      value('http_request_duration_seconds_count', { method: 'GET', route: '/customers/:userId', status_code: '200' }),
    ).toBe(1);
    expect(
      value('http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' }),
    ).toBe(1);
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).not.toContain(userId);
    expect(all.filter((s) => s.labels.service !== SERVICE)).toEqual([]);
    expect(await promtoolProblems(text)).toBe('');
  }, 20_000);

  it('is not served on the API port: 404 there', async () => {
    await http.get('/metrics').expect(404);
  });

  it('answers only GET /metrics on its own port', async () => {
    await metricsHttp.get('/').expect(404);
    await metricsHttp.get('/users').expect(404);
    await metricsHttp.post('/metrics').expect(405);
  });

  it('is not part of the OpenAPI document', async () => {
    const document = (await http.get('/docs/openapi.json').expect(200)).body as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).not.toContain('/metrics');
  });
});
