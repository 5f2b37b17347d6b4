// Typed OpenAPI: both services' /docs/openapi.json, turned into TypeScript with openapi-typescript, must give every
// route's 2xx response exactly the type its handler returns (the type inferred from the zod schema the document is
// generated from). A small client (written below, one check per route) is type-checked with tsc against the
// generated types; a copy of the document with one response schema removed and one changed must fail that check.
// The real responses are also validated against the documented schemas (Ajv), so the document matches the wire too.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '@switchyard/testing';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { http, Platform } from './platform.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const TSC = path.join(repoRoot, 'node_modules/tsc7/bin/tsc');

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }>
  >;
}
type Service = 'user-service' | 'order-service';

/** The type each route's 2xx JSON body must be: "<METHOD> <path> <status>" → [module under services/, exported type]. */
const EXPECTED: Record<Service, Record<string, [string, string]>> = {
  'user-service': {
    'POST /users 201': ['user-service/src/users/user.response.ts', 'UserResponse'],
    'POST /auth/token 200': ['../packages/auth/src/index.ts', 'IssuedToken'],
    'GET /users 200': ['user-service/src/users/user.response.ts', 'UserPage'],
    'GET /users/{id} 200': ['user-service/src/users/user.response.ts', 'UserResponse'],
    'PATCH /users/{id} 200': ['user-service/src/users/user.response.ts', 'UserResponse'],
    'GET /health/live 200': ['../packages/service-kit/src/index.ts', 'HealthResult'],
    'GET /health/ready 200': ['../packages/service-kit/src/index.ts', 'HealthResult'],
    'GET /health/startup 200': ['../packages/service-kit/src/index.ts', 'HealthResult'],
  },
  'order-service': {
    'POST /orders 201': ['order-service/src/orders/order.response.ts', 'OrderResponse'],
    'GET /orders 200': ['order-service/src/orders/order.response.ts', 'OrderPage'],
    'GET /orders/{id} 200': ['order-service/src/orders/order.response.ts', 'OrderResponse'],
    'POST /orders/{id}/cancel 200': ['order-service/src/orders/order.response.ts', 'OrderResponse'],
    'GET /customers/{userId} 200': ['order-service/src/customers/customer.response.ts', 'CustomerResponse'],
    'GET /health/live 200': ['../packages/service-kit/src/index.ts', 'HealthResult'],
    'GET /health/ready 200': ['../packages/service-kit/src/index.ts', 'HealthResult'],
    'GET /health/startup 200': ['../packages/service-kit/src/index.ts', 'HealthResult'],
  },
};
/** 2xx responses that have no body on purpose. */
const NO_BODY = new Set(['user-service DELETE /users/{id} 204']);
/** 2xx bodies whose format a standard defines (RFC 7517's JWK Set, as `jose` builds it), not a schema of ours. */
const STANDARD_BODY = new Set(['user-service GET /.well-known/jwks.json 200']);

/**
 * An OpenAPI 3.0 schema as JSON Schema for Ajv: 3.0 writes an exclusive bound as `minimum` plus a boolean
 * `exclusiveMinimum` (zod's `.positive()`), JSON Schema as a number.
 */
function jsonSchemaOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchemaOf);
  if (typeof schema !== 'object' || schema === null) return schema;
  const { minimum, exclusiveMinimum, maximum, exclusiveMaximum, ...rest } = schema as Record<string, unknown>;
  const converted = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, jsonSchemaOf(value)]));
  if (exclusiveMinimum === true) converted['exclusiveMinimum'] = minimum;
  else
    Object.assign(
      converted,
      minimum === undefined ? {} : { minimum },
      typeof exclusiveMinimum === 'number' ? { exclusiveMinimum } : {},
    );
  if (exclusiveMaximum === true) converted['exclusiveMaximum'] = maximum;
  else
    Object.assign(
      converted,
      maximum === undefined ? {} : { maximum },
      typeof exclusiveMaximum === 'number' ? { exclusiveMaximum } : {},
    );
  return converted;
}

/** Every 2xx response of a document, as "<METHOD> <path> <status>", with whether it has a JSON body. */
function successResponses(
  document: OpenApiDocument,
): { route: string; path: string; method: string; status: string; json: boolean }[] {
  return Object.entries(document.paths).flatMap(([route, methods]) =>
    Object.entries(methods).flatMap(([method, operation]) =>
      Object.entries(operation.responses)
        .filter(([status]) => /^2\d\d$/.test(status))
        .map(([status, response]) => ({
          route: `${method.toUpperCase()} ${route} ${status}`,
          path: route,
          method,
          status,
          json: response.content?.['application/json'] !== undefined,
        })),
    ),
  );
}

const checkName = (service: Service, route: string) => `${service} ${route}`.replace(/[^A-Za-z0-9]+/g, '_');

/**
 * The client: for each route of EXPECTED, its 2xx body type as generated must equal (both ways assignable) the
 * handler's type (a route without a JSON schema has body type `never`, which fails), plus a few lines that use the
 * bodies as a caller would.
 */
function clientSource(): string {
  const lines = [
    `type Json<Api, P extends keyof Api, M extends keyof Api[P], S extends number> = Api[P][M] extends { responses: infer R } ? (S extends keyof R ? (R[S] extends { content: { 'application/json': infer B } } ? B : never) : never) : never;`,
    `type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;`,
  ];
  for (const service of ['user-service', 'order-service'] as const) {
    const api = service === 'user-service' ? 'UserApi' : 'OrderApi';
    lines.push(`import type { paths as ${api} } from './${service}.js';`);
    for (const [route, [file, type]] of Object.entries(EXPECTED[service])) {
      const [method, routePath, status] = route.split(' ') as [string, string, string];
      const expected = `import('${path.join(repoRoot, 'services', file).replace(/\.ts$/, '.js')}').${type}`;
      lines.push(
        `export const ${checkName(service, route)}: Same<Json<${api}, '${routePath}', '${method.toLowerCase()}', ${status}>, ${expected}> = true;`,
      );
    }
  }
  lines.push(
    `export function totalOf(page: Json<OrderApi, '/orders', 'get', 200>): number { return page.items.reduce((sum, order) => sum + order.totalCents, 0); }`,
    `export function nextPage(page: Json<UserApi, '/users', 'get', 200>): string | undefined { return page.nextCursor ?? undefined; }`,
    `export function isCancelled(order: Json<OrderApi, '/orders/{id}/cancel', 'post', 200>): boolean { return order.status === 'CANCELLED' && order.cancelledAt !== null; }`,
  );
  return lines.join('\n') + '\n';
}

/** Writes the generated types and the client into a temporary directory and runs tsc on them. */
async function typeCheck(documents: Record<Service, OpenApiDocument>): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-openapi-'));
  try {
    for (const service of ['user-service', 'order-service'] as const) {
      writeFileSync(path.join(dir, `${service}.ts`), astToString(await openapiTS(documents[service] as never)));
    }
    writeFileSync(path.join(dir, 'client.ts'), clientSource());
    const tsconfig = {
      extends: path.join(repoRoot, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        composite: false,
        incremental: false,
        declaration: false,
        sourceMap: false,
        typeRoots: [path.join(repoRoot, 'node_modules/@types')],
      },
      files: ['client.ts'],
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    return await new Promise((resolve) => {
      execFile(
        process.execPath,
        [TSC, '-p', path.join(dir, 'tsconfig.json'), '--pretty', 'false'],
        { encoding: 'utf8' },
        (error, stdout, stderr) => {
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
        },
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let platform: Platform;
const documents = {} as Record<Service, OpenApiDocument>;

beforeAll(async () => {
  platform = await Platform.start('openapi');
  for (const [service, base] of [
    ['user-service', platform.users.url],
    ['order-service', platform.orders.url],
  ] as const) {
    const response = await http<OpenApiDocument>(base, 'GET', '/docs/openapi.json');
    expect(response.status).toBe(200);
    documents[service] = response.body;
  }
}, 60_000);

afterAll(async () => {
  await platform?.stop();
});

describe('typed OpenAPI', () => {
  it.each(['user-service', 'order-service'] as const)(
    '%s documents a JSON schema for every 2xx response, and the client checks each one',
    (service) => {
      const responses = successResponses(documents[service]);
      expect(
        responses
          .filter((response) => !response.json && !STANDARD_BODY.has(`${service} ${response.route}`))
          .map((response) => `${service} ${response.route}`),
      ).toEqual([...NO_BODY].filter((route) => route.startsWith(`${service} `)));
      expect(
        responses
          .filter((response) => response.json)
          .map((response) => response.route)
          .sort(),
      ).toEqual(Object.keys(EXPECTED[service]).sort());
    },
  );

  it('types generated by openapi-typescript equal the handlers’ own types, route by route (tsc)', async () => {
    const { code, output } = await typeCheck(documents);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('the check fails when a response schema is missing or wrong', async () => {
    const broken = structuredClone(documents);
    delete broken['user-service'].paths['/users/{id}']!['get']!.responses['200']!.content;
    const order = broken['order-service'].paths['/orders/{id}']!['get']!.responses['200']!.content!['application/json']!
      .schema as { properties: Record<string, unknown> };
    order.properties['totalCents'] = { type: 'string' };
    const { code, output } = await typeCheck(broken);
    expect(code).not.toBe(0);
    const clientLines = clientSource().split('\n');
    const failed = [...output.matchAll(/client\.ts\((\d+),/g)].map(
      (match) => clientLines[Number(match[1]) - 1]!.match(/export const (\w+):/)?.[1],
    );
    // Exactly the two broken routes fail.
    expect(failed.sort()).toEqual(
      [checkName('order-service', 'GET /orders/{id} 200'), checkName('user-service', 'GET /users/{id} 200')].sort(),
    );
  }, 120_000);
});

describe('the real responses match the documented schemas', () => {
  it('every 2xx body of both services validates against its route’s schema', async () => {
    const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    const validate = (service: Service, route: string, status: string, body: unknown) => {
      const [method, routePath] = route.split(' ') as [string, string];
      const schema =
        documents[service].paths[routePath]![method.toLowerCase()]!.responses[status]!.content!['application/json']!
          .schema;
      const valid = ajv.validate(jsonSchemaOf(schema) as object, body);
      return [`${service} ${route} ${status}`, valid ? [] : ajv.errors];
    };
    const users = platform.users.url;
    const orders = platform.orders.url;
    const results: unknown[] = [];
    const credentials = { email: `openapi.${Date.now()}@example.com`, password: 'a decent passphrase' };
    const created = await http<{ id: string }>(users, 'POST', '/users', { ...credentials, name: 'Open Api' });
    results.push(validate('user-service', 'POST /users', '201', created.body));
    const userId = created.body.id;
    const issued = await http<{ access_token: string }>(users, 'POST', '/auth/token', credentials);
    results.push(validate('user-service', 'POST /auth/token', '200', issued.body));
    const token = issued.body.access_token;
    // Listing users, and reading one that does not exist (a user gets 403 for any id but its own), need an admin.
    const admin = await platform.signUpAdmin();
    results.push(
      validate(
        'user-service',
        'GET /users/{id}',
        '200',
        (await http(users, 'GET', `/users/${userId}`, undefined, token)).body,
      ),
    );
    results.push(
      validate(
        'user-service',
        'GET /users',
        '200',
        (await http(users, 'GET', '/users?limit=1', undefined, admin.token)).body,
      ),
    );
    results.push(
      validate(
        'user-service',
        'PATCH /users/{id}',
        '200',
        (await http(users, 'PATCH', `/users/${userId}`, { name: 'Renamed' }, token)).body,
      ),
    );
    for (const probe of ['live', 'ready', 'startup']) {
      results.push(
        validate('user-service', `GET /health/${probe}`, '200', (await http(users, 'GET', `/health/${probe}`)).body),
      );
      results.push(
        validate('order-service', `GET /health/${probe}`, '200', (await http(orders, 'GET', `/health/${probe}`)).body),
      );
    }
    const customer = await waitFor(
      'order-service to know the new customer',
      async () => {
        const response = await http(orders, 'GET', `/customers/${userId}`, undefined, token);
        return response.status === 200 ? response.body : undefined;
      },
      20_000,
      100,
    );
    results.push(validate('order-service', 'GET /customers/{userId}', '200', customer));
    const placed = await http<{ id: string }>(
      orders,
      'POST',
      '/orders',
      { userId, items: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 1250 }] },
      token,
    );
    expect(placed.status).toBe(201);
    results.push(validate('order-service', 'POST /orders', '201', placed.body));
    results.push(
      validate(
        'order-service',
        'GET /orders/{id}',
        '200',
        (await http(orders, 'GET', `/orders/${placed.body.id}`, undefined, token)).body,
      ),
    );
    results.push(
      validate(
        'order-service',
        'GET /orders',
        '200',
        (await http(orders, 'GET', `/orders?userId=${userId}`, undefined, token)).body,
      ),
    );
    results.push(
      validate(
        'order-service',
        'POST /orders/{id}/cancel',
        '200',
        (await http(orders, 'POST', `/orders/${placed.body.id}/cancel`, undefined, token)).body,
      ),
    );
    const notFound = await http(users, 'GET', '/users/00000000-0000-4000-8000-000000000000', undefined, admin.token);
    expect(notFound.status).toBe(404);
    results.push(validate('user-service', 'GET /users/{id}', '404', notFound.body));
    expect(results.filter((result) => (result as [string, unknown[]])[1].length > 0)).toEqual([]);
    expect(results).toHaveLength(17);
    // The JWK Set (STANDARD_BODY): public EC P-256 keys for ES256, named by kid, with no private part.
    const jwks = await http<{ keys: Record<string, unknown>[] }>(users, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toEqual([
      expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: expect.any(String) }),
    ]);
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    // The validation has teeth: an order whose total is a string does not pass.
    const order = (await http<Record<string, unknown>>(orders, 'GET', `/orders/${placed.body.id}`, undefined, token))
      .body;
    expect(
      (validate('order-service', 'GET /orders/{id}', '200', { ...order, totalCents: '2500' }) as [string, unknown[]])[1]
        .length,
    ).toBeGreaterThan(0);
  }, 60_000);
});
