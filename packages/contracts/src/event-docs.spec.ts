import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { runDocsCli } from './docs-cli.js';
import { diffDocs, writeDocs } from './docs-files.js';
import {
  ASYNCAPI_FILE,
  buildAsyncApiDocument,
  CONTRACTS_VERSION,
  eventJsonSchema,
  renderEventDocs,
} from './event-docs.js';
import { UserCreatedV1, UserCreatedV2 } from './events/user-created.js';
import { eventCatalog } from './switchyard-catalog.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const docsDir = path.join(packageDir, '..', '..', 'docs');

/** A JSON value's object at `key`, failing the test when it is not an object. */
function objectAt(value: unknown, ...keys: string[]): Record<string, unknown> {
  let current = value;
  for (const key of keys) {
    expect(current).toEqual(expect.any(Object));
    current = (current as Record<string, unknown>)[key];
  }
  expect(current).toEqual(expect.any(Object));
  return current as Record<string, unknown>;
}

describe('generated docs', () => {
  it('are committed exactly as the generator renders them (run `node packages/contracts/dist/generate-docs.js`)', async () => {
    const rendered = renderEventDocs();
    const onDisk = new Map<string, string | undefined>();
    for (const file of rendered.keys()) {
      onDisk.set(file, await readFile(path.join(docsDir, file), 'utf8').catch(() => undefined));
    }
    for (const [file, content] of rendered) expect({ file, content: onDisk.get(file) }).toEqual({ file, content });
    const schemaFiles = (await readdir(path.join(docsDir, 'schemas')))
      .filter((name) => name.endsWith('.json'))
      .map((name) => `schemas/${name}`);
    expect(schemaFiles.sort()).toEqual([...rendered.keys()].filter((file) => file.startsWith('schemas/')).sort());
  });

  it('render deterministically, each file ending in one newline', () => {
    const first = renderEventDocs();
    expect(renderEventDocs()).toEqual(first);
    for (const content of first.values()) expect(content).toMatch(/[^\n]\n$/);
    expect([...first.keys()]).toEqual([
      'asyncapi.yaml',
      'schemas/user.created.v1.json',
      'schemas/user.created.v2.json',
      'schemas/user.updated.v1.json',
      'schemas/user.deleted.v1.json',
      'schemas/order.placed.v1.json',
      'schemas/order.cancelled.v1.json',
    ]);
  });

  it('write one draft 2020-12 JSON Schema per event version, identified by its dataschema URI', () => {
    const schema = eventJsonSchema(UserCreatedV2);
    expect(Object.keys(schema).slice(0, 5)).toEqual(['$schema', '$id', 'title', 'description', 'type']);
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://switchyard.io/schemas/events/user.created/v2.json',
      title: 'user.created v2',
      description: UserCreatedV2.description,
      type: 'object',
      required: ['userId', 'email', 'name', 'marketingOptIn', 'locale', 'occurredAt'],
    });
    // Unknown fields from newer producers are allowed, as the zod schemas allow them.
    expect(schema).not.toHaveProperty('additionalProperties');
    // The user.updated rule "at least one change" survives in JSON Schema form.
    expect(eventJsonSchema(eventCatalog.latest('user.updated'))).toMatchObject({
      properties: { changes: { anyOf: [{ required: ['email'] }, { required: ['name'] }] } },
    });
  });

  describe('AsyncAPI document', () => {
    const document = buildAsyncApiDocument();

    it('is AsyncAPI 3.1.0 with an id, contact, license, a secured amqp server and the package version', async () => {
      const packageJson = z
        .object({ version: z.string() })
        .parse(JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')));
      expect(document).toMatchObject({
        asyncapi: '3.1.0',
        id: 'urn:switchyard:events',
        info: {
          title: 'Switchyard events',
          version: packageJson.version,
          contact: { name: expect.any(String) },
          license: { name: 'Apache-2.0' },
        },
        servers: {
          rabbitmq: {
            host: 'rabbitmq:5672',
            protocol: 'amqp',
            security: [{ $ref: '#/components/securitySchemes/rabbitmqUser' }],
          },
        },
        components: { securitySchemes: { rabbitmqUser: { type: 'userPassword' } } },
      });
      expect(CONTRACTS_VERSION).toBe(packageJson.version);
    });

    it('has one channel per event type on the durable topic exchange, with every version as a message', () => {
      const channels = objectAt(document, 'channels');
      expect(Object.keys(channels).slice(0, eventCatalog.types.length)).toEqual(eventCatalog.types);
      expect(channels['user.created']).toEqual({
        address: 'user.created',
        title: 'user.created',
        description: expect.any(String),
        messages: {
          UserCreatedV1: { $ref: '#/components/messages/UserCreatedV1' },
          UserCreatedV2: { $ref: '#/components/messages/UserCreatedV2' },
        },
        bindings: {
          amqp: {
            is: 'routingKey',
            exchange: { name: 'switchyard.events', type: 'topic', durable: true, autoDelete: false, vhost: '/' },
            bindingVersion: '0.3.0',
          },
        },
      });
    });

    it('has a send operation per type from its producer, with the latest version only, persistent and mandatory', () => {
      const operations = objectAt(document, 'operations');
      expect(Object.keys(operations).slice(0, 5)).toEqual([
        'sendUserCreated',
        'sendUserUpdated',
        'sendUserDeleted',
        'sendOrderPlaced',
        'sendOrderCancelled',
      ]);
      expect(operations['sendUserCreated']).toMatchObject({
        action: 'send',
        channel: { $ref: '#/channels/user.created' },
        tags: [{ name: 'user-service' }],
        messages: [{ $ref: '#/channels/user.created/messages/UserCreatedV2' }],
        bindings: { amqp: { deliveryMode: 2, mandatory: true, timestamp: true, bindingVersion: '0.3.0' } },
      });
      expect(operations['sendOrderCancelled']).toMatchObject({ tags: [{ name: 'order-service' }] });
    });

    it('has a receive operation per consumer on its work queue, and queue channels for its retry tiers and DLQ', () => {
      const operations = objectAt(document, 'operations');
      expect(operations['receiveOrderServiceEvents']).toEqual({
        action: 'receive',
        channel: { $ref: '#/channels/order-service.user-events' },
        title: expect.any(String),
        summary: expect.any(String),
        tags: [{ name: 'order-service' }],
        messages: ['UserCreatedV1', 'UserCreatedV2', 'UserUpdatedV1', 'UserDeletedV1'].map((name) => ({
          $ref: `#/channels/order-service.user-events/messages/${name}`,
        })),
        bindings: { amqp: { ack: true, bindingVersion: '0.3.0' } },
      });
      expect(operations['receiveUserServiceEvents']).toMatchObject({
        action: 'receive',
        channel: { $ref: '#/channels/user-service.order-events' },
      });
      const queues = ['', '.retry.1s', '.retry.5s', '.retry.30s', '.retry.2m', '.retry.10m', '.dlq'].map(
        (suffix) => `order-service.user-events${suffix}`,
      );
      for (const queue of queues) {
        expect(objectAt(document, 'channels', queue)).toMatchObject({
          address: queue,
          bindings: {
            amqp: {
              is: 'queue',
              queue: { name: queue, durable: true, exclusive: false, autoDelete: false, vhost: '/' },
              bindingVersion: '0.3.0',
            },
          },
        });
      }
      expect(operations['sendOrderServiceRetry2m']).toMatchObject({
        action: 'send',
        channel: { $ref: '#/channels/order-service.user-events.retry.2m' },
        bindings: { amqp: { deliveryMode: 2, mandatory: true } },
      });
      expect(operations['sendOrderServiceDeadLetter']).toMatchObject({
        action: 'send',
        channel: { $ref: '#/channels/order-service.user-events.dlq' },
      });
    });

    it('refuses a subscription to an event type the catalog does not know', () => {
      expect(() =>
        buildAsyncApiDocument(eventCatalog.eventFamilies, [{ service: 's', queue: 's.q', eventTypes: ['no.such'] }]),
      ).toThrow(/no.such/);
    });

    it('documents headers and payload of each message version', () => {
      const message = objectAt(document, 'components', 'messages', 'UserCreatedV1');
      expect(message).toMatchObject({
        name: 'user.created',
        contentType: 'application/json',
        payload: { $ref: '#/components/schemas/UserCreatedV1' },
      });
      const headers = objectAt(message, 'headers');
      expect(headers['required']).toEqual([
        'cloudEvents_specversion',
        'cloudEvents_id',
        'cloudEvents_type',
        'cloudEvents_source',
        'cloudEvents_time',
        'cloudEvents_dataschema',
        'x-event-version',
      ]);
      expect(Object.keys(objectAt(headers, 'properties'))).toEqual([
        ...(headers['required'] as string[]),
        'traceparent',
        'tracestate',
      ]);
      expect(objectAt(headers, 'properties', 'x-event-version')).toMatchObject({ type: 'integer', const: 1 });
      expect(objectAt(headers, 'properties', 'cloudEvents_dataschema')).toMatchObject({
        const: UserCreatedV1.dataschema,
      });
      expect(objectAt(document, 'components', 'schemas', 'UserCreatedV1')).toMatchObject({
        title: 'user.created v1',
        required: ['userId', 'email', 'name', 'occurredAt'],
      });
    });

    it('resolves every local $ref', () => {
      const refs: string[] = [];
      JSON.stringify(document, (key, value: unknown) => {
        if (key === '$ref' && typeof value === 'string') refs.push(value);
        return value;
      });
      expect(refs.length).toBeGreaterThan(20);
      for (const ref of refs) {
        const target = ref
          .replace(/^#\//, '')
          .split('/')
          .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
        expect({ ref, resolved: target !== undefined }).toEqual({ ref, resolved: true });
      }
    });

    it('renders as YAML that parses back to the same document', () => {
      const yaml = renderEventDocs().get(ASYNCAPI_FILE) ?? '';
      expect(yaml.startsWith('# Generated from packages/contracts')).toBe(true);
      expect(YAML.parse(yaml)).toEqual(document);
    });
  });

  describe('generator', () => {
    async function withTempDocs(run: (dir: string) => Promise<void>): Promise<void> {
      const dir = await mkdtemp(path.join(tmpdir(), 'switchyard-docs-'));
      try {
        await run(dir);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }

    function cli(argv: string[], dir: string): Promise<{ code: number; out: string[]; err: string[] }> {
      const out: string[] = [];
      const err: string[] = [];
      return runDocsCli(argv, dir, { out: (line) => out.push(line), err: (line) => err.push(line) }).then((code) => ({
        code,
        out,
        err,
      }));
    }

    it('finds stale, missing and extra files, and writing fixes them', () =>
      withTempDocs(async (dir) => {
        const rendered = renderEventDocs();
        await writeDocs(dir, rendered);
        expect(await diffDocs(dir, rendered)).toEqual({ stale: [], missing: [], extra: [] });

        await writeFile(path.join(dir, 'asyncapi.yaml'), 'asyncapi: 2.6.0\n');
        await rm(path.join(dir, 'schemas/user.created.v1.json'));
        await writeFile(path.join(dir, 'schemas/user.created.v0.json'), '{}\n');
        await writeFile(path.join(dir, 'README.md'), 'not generated\n');
        expect(await diffDocs(dir, rendered)).toEqual({
          stale: ['asyncapi.yaml'],
          missing: ['schemas/user.created.v1.json'],
          extra: ['schemas/user.created.v0.json'],
        });

        const check = await cli(['--check'], dir);
        expect(check.code).toBe(1);
        expect(check.err.join('\n')).toMatch(
          /stale +.*asyncapi\.yaml[\s\S]*missing +.*user\.created\.v1\.json[\s\S]*extra +.*user\.created\.v0\.json/,
        );
        expect(await diffDocs(dir, rendered)).not.toEqual({ stale: [], missing: [], extra: [] });

        const write = await cli([], dir);
        expect(write.code).toBe(0);
        expect(write.out).toHaveLength(4);
        expect(await diffDocs(dir, rendered)).toEqual({ stale: [], missing: [], extra: [] });
        expect(await readFile(path.join(dir, 'README.md'), 'utf8')).toBe('not generated\n');
        expect((await cli(['--check'], dir)).code).toBe(0);
      }));

    it('writes everything into an empty folder', () =>
      withTempDocs(async (dir) => {
        expect((await cli(['--check'], dir)).code).toBe(1);
        expect((await cli([], dir)).code).toBe(0);
        expect((await readdir(path.join(dir, 'schemas'))).sort()).toHaveLength(6);
      }));

    it('exits 2 on an unknown argument', async () => {
      const result = await cli(['--force'], '/nonexistent');
      expect(result.code).toBe(2);
      expect(result.err[0]).toBe('generate-docs: unknown argument "--force"');
    });
  });
});
