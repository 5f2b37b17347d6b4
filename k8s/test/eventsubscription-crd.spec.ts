// The EventSubscription CRD, checked without a cluster (none can run here): it is a valid CustomResourceDefinition,
// its schema is structural, and k8s/examples/ validate against THE CRD's OWN openAPIV3Schema the way the API
// server would: defaults applied (ajv useDefaults), unknown fields rejected (strict field validation, which
// `kubectl apply` and Helm use; without it the API server would prune them silently), list types and the CEL
// rules enforced through a small, explicit translation (below) that fails when the CRD grows a rule it lacks.
import { describe, expect, test } from '@jest/globals';
import { Ajv, type AnySchemaObject, type ErrorObject } from 'ajv';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { API_GROUP, API_VERSION, CRD_NAME, KIND, PLURAL, SINGULAR } from '../../services/topology-operator/src/api-names.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CRD_FILE = path.join(repoRoot, 'charts', 'topology-operator', 'crds', `${CRD_NAME}.yaml`);
const EXAMPLES_DIR = path.join(repoRoot, 'k8s', 'examples');
const INVALID_DIR = path.join(EXAMPLES_DIR, 'invalid');

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema | boolean };
interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[]; listKind?: string };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const crd = parse(readFileSync(CRD_FILE, 'utf8')) as Crd;
const version = crd.spec.versions[0]!;
const rootSchema = version.schema.openAPIV3Schema;

// ---------------------------------------------------------------------------------------------------------------
// Walking the schema: every node with its JSON path, whether it sits inside a oneOf/anyOf/allOf/not branch.

interface SchemaNode {
  path: string;
  schema: Schema;
  inJunctor: boolean;
}
function schemaNodes(schema: Schema, at = '', inJunctor = false): SchemaNode[] {
  const nodes: SchemaNode[] = [{ path: at || '/', schema, inJunctor }];
  for (const [name, child] of Object.entries(schema.properties ?? {})) nodes.push(...schemaNodes(child, `${at}/properties/${name}`, inJunctor));
  if (schema.items) nodes.push(...schemaNodes(schema.items, `${at}/items`, inJunctor));
  if (typeof schema.additionalProperties === 'object') nodes.push(...schemaNodes(schema.additionalProperties, `${at}/additionalProperties`, inJunctor));
  for (const junctor of ['oneOf', 'anyOf', 'allOf'] as const) {
    ((schema[junctor] as Schema[] | undefined) ?? []).forEach((branch, i) => nodes.push(...schemaNodes(branch, `${at}/${junctor}/${i}`, true)));
  }
  if (schema['not']) nodes.push(...schemaNodes(schema['not'] as Schema, `${at}/not`, true));
  return nodes;
}
const nodes = schemaNodes(rootSchema);

// ---------------------------------------------------------------------------------------------------------------
// CEL rules (x-kubernetes-validations), translated one by one. The API server evaluates them with CEL; ajv cannot,
// so each rule the CRD carries has its JavaScript twin here, and a test fails when a rule has none. Transition
// rules (those naming oldSelf) run only on update, never on create, so a file alone cannot trigger them.

type Json = Record<string, unknown>;
const CEL_RULES: Record<string, (self: Json & string) => boolean> = {
  "self.queue.startsWith(self.service + '.')": (self) => String(self['queue']).startsWith(`${String(self['service'])}.`),
  "!self.endsWith('.dlq') && !self.contains('.retry.')": (self) => !self.endsWith('.dlq') && !self.includes('.retry.'),
  "!self.startsWith('amq.')": (self) => !self.startsWith('amq.'),
  '!has(self.backoff.delays) || size(self.backoff.delays) == self.maxAttempts - 1': (self) => {
    const delays = (self['backoff'] as Json | undefined)?.['delays'] as unknown[] | undefined;
    return delays === undefined || delays.length === Number(self['maxAttempts']) - 1;
  },
};
const isTransitionRule = (rule: string) => /\boldSelf\b/.test(rule);
const celRulesInCrd = nodes.flatMap((node) => ((node.schema['x-kubernetes-validations'] as { rule: string; message?: string }[] | undefined) ?? []).map((validation) => ({ ...validation, path: node.path })));

// ---------------------------------------------------------------------------------------------------------------
// From the Kubernetes dialect of OpenAPI v3 to JSON Schema for ajv, minimally:
// - exclusiveMinimum/exclusiveMaximum are booleans beside minimum/maximum in OpenAPI 3.0 (numbers in draft 7);
// - x-kubernetes-int-or-string means integer or string; x-kubernetes-preserve-unknown-fields keeps an object open;
// - every other object with declared properties is closed (additionalProperties: false): strict field validation.
// x-kubernetes-list-type and x-kubernetes-validations become ajv keywords (see validatorFor).

function toJsonSchema(schema: Schema): Schema {
  const out: Schema = { ...schema };
  if (out['exclusiveMinimum'] === true) {
    out['exclusiveMinimum'] = out['minimum'];
    delete out['minimum'];
  } else if (out['exclusiveMinimum'] === false) delete out['exclusiveMinimum'];
  if (out['exclusiveMaximum'] === true) {
    out['exclusiveMaximum'] = out['maximum'];
    delete out['maximum'];
  } else if (out['exclusiveMaximum'] === false) delete out['exclusiveMaximum'];
  if (out['x-kubernetes-int-or-string'] === true) {
    delete out['x-kubernetes-int-or-string'];
    out['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
  }
  if (schema.properties) out.properties = Object.fromEntries(Object.entries(schema.properties).map(([name, child]) => [name, toJsonSchema(child)]));
  if (schema.items) out.items = toJsonSchema(schema.items);
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = toJsonSchema(schema.additionalProperties);
  for (const junctor of ['oneOf', 'anyOf', 'allOf'] as const) {
    if (Array.isArray(schema[junctor])) out[junctor] = (schema[junctor] as Schema[]).map(toJsonSchema);
  }
  if (schema['not']) out['not'] = toJsonSchema(schema['not'] as Schema);
  if (out['type'] === 'object' && out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  delete out['x-kubernetes-preserve-unknown-fields'];
  return out;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function newAjv(): Ajv {
  // strict: an unknown keyword is an error, so a Kubernetes extension this file does not translate cannot slip by.
  const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true, useDefaults: true });
  ajv.addFormat('date-time', (text: string) => RFC3339.test(text) && !Number.isNaN(Date.parse(text)));
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addKeyword({ keyword: 'x-kubernetes-list-map-keys', schemaType: 'array' });
  ajv.addKeyword({ keyword: 'x-kubernetes-embedded-resource', schemaType: 'boolean' });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    type: 'array',
    schemaType: 'string',
    errors: true,
    compile(listType: string, parentSchema: AnySchemaObject) {
      const keys = (parentSchema['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
      const check = (items: unknown[]): boolean => {
        if (listType === 'atomic') return true;
        const identities = items.map((item) => JSON.stringify(listType === 'map' ? keys.map((key) => (item as Json)[key]) : item));
        const duplicate = identities.findIndex((identity, i) => identities.indexOf(identity) !== i);
        if (duplicate === -1) return true;
        check.errors = [{ keyword: 'x-kubernetes-list-type', params: { listType, duplicate }, message: `duplicate entry ${identities[duplicate]!} in a list of type ${listType}` }];
        return false;
      };
      check.errors = [] as Partial<ErrorObject>[];
      return check;
    },
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    schemaType: 'array',
    errors: true,
    compile(validations: { rule: string; message?: string }[]) {
      const check = (self: unknown): boolean => {
        const failed = validations.filter(({ rule }) => {
          if (isTransitionRule(rule)) return false;
          const evaluate = CEL_RULES[rule];
          if (!evaluate) throw new Error(`no translation for CEL rule ${rule}`);
          return !evaluate(self as Json & string);
        });
        check.errors = failed.map(({ rule, message }) => ({ keyword: 'x-kubernetes-validations', params: { rule }, message: message ?? `failed rule: ${rule}` }));
        return failed.length === 0;
      };
      check.errors = [] as Partial<ErrorObject>[];
      return check;
    },
  });
  return ajv;
}

const validateResource = newAjv().compile(toJsonSchema(rootSchema));

/** Validates like the API server on create: returns the defaulted copy and the errors ("<path> <keyword>: message"). */
function admit(resource: unknown): { object: Json; errors: ErrorObject[] } {
  const object = structuredClone(resource) as Json;
  const valid = validateResource(object);
  return { object, errors: valid ? [] : [...(validateResource.errors ?? [])] };
}
const describeErrors = (errors: ErrorObject[]) => errors.map((error) => `${error.instancePath || '/'} ${error.keyword}: ${error.message ?? ''}`).join('\n');

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
const validExamples = yamlFiles(EXAMPLES_DIR).filter((file) => !file.startsWith(`${INVALID_DIR}${path.sep}`));
const invalidExamples = yamlFiles(INVALID_DIR);
const relative = (file: string) => path.relative(repoRoot, file);

// ---------------------------------------------------------------------------------------------------------------

describe('the EventSubscription CRD', () => {
  test('is a valid apiextensions.k8s.io/v1 CustomResourceDefinition', () => {
    expect(() => new CustomResourceDefinition(crd as never).validate()).not.toThrow();
  });

  test('names the resource the way the operator and chart use it', () => {
    expect(crd.metadata.name).toBe(CRD_NAME);
    expect(crd.spec).toMatchObject({ group: API_GROUP, scope: 'Namespaced', names: { kind: KIND, plural: PLURAL, singular: SINGULAR, shortNames: ['esub'], categories: ['switchyard'] } });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[API_VERSION, true, true]]);
    expect(version.subresources).toEqual({ status: {} });
  });

  test('prints Service, Queue, Ready, Depth, DLQ and Age, each from a path the schema declares', () => {
    const columns = version.additionalPrinterColumns ?? [];
    expect(columns.map((column) => [column.name, column.type, column.jsonPath])).toEqual([
      ['Service', 'string', '.spec.service'],
      ['Queue', 'string', '.spec.queue'],
      ['Ready', 'string', '.status.conditions[?(@.type=="Ready")].status'],
      ['Depth', 'integer', '.status.queueDepth'],
      ['DLQ', 'integer', '.status.deadLetterDepth'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
    for (const column of columns.filter((c) => !c.jsonPath.startsWith('.metadata.'))) {
      let schema: Schema | undefined = rootSchema;
      for (const segment of column.jsonPath.replace(/\[\?\(.*?\)\]/g, '[]').slice(1).split('.')) {
        const name = segment.replace('[]', '');
        schema = schema?.properties?.[name];
        if (segment.endsWith('[]')) schema = schema?.items;
      }
      expect({ column: column.name, declared: schema !== undefined }).toEqual({ column: column.name, declared: true });
    }
  });

  describe('has a structural schema', () => {
    test('every node outside oneOf/anyOf/allOf/not has a type', () => {
      const untyped = nodes.filter((node) => !node.inJunctor && node.schema['type'] === undefined && node.schema['x-kubernetes-int-or-string'] !== true && node.schema['x-kubernetes-preserve-unknown-fields'] !== true);
      expect(untyped.map((node) => node.path)).toEqual([]);
    });

    test('oneOf/anyOf/allOf/not branches only constrain values (no type, default, description, additionalProperties, nullable, extensions)', () => {
      const forbidden = ['type', 'default', 'description', 'additionalProperties', 'nullable'];
      const offending = nodes.filter((node) => node.inJunctor && Object.keys(node.schema).some((key) => forbidden.includes(key) || key.startsWith('x-kubernetes-')));
      expect(offending.map((node) => node.path)).toEqual([]);
    });

    test('fields named in a branch are declared by the schema around it', () => {
      for (const node of nodes.filter((n) => !n.inJunctor)) {
        for (const branch of [...((node.schema['oneOf'] as Schema[]) ?? []), ...((node.schema['anyOf'] as Schema[]) ?? [])]) {
          for (const name of [...((branch['required'] as string[]) ?? []), ...Object.keys(branch.properties ?? {})]) {
            expect({ at: node.path, field: name, declared: node.schema.properties?.[name] !== undefined }).toEqual({ at: node.path, field: name, declared: true });
          }
        }
      }
    });

    test('no node has both properties and additionalProperties, uniqueItems, $ref or additionalProperties: false', () => {
      const offending = nodes.filter(
        ({ schema }) => (schema.properties && schema.additionalProperties !== undefined) || schema['uniqueItems'] === true || schema['$ref'] !== undefined || schema.additionalProperties === false,
      );
      expect(offending.map((node) => node.path)).toEqual([]);
    });

    test('metadata is only typed (the API server owns its schema)', () => {
      expect(rootSchema.properties?.['metadata']).toEqual({ type: 'object' });
    });

    test('patterns compile and use nothing RE2 (the API server) lacks: no lookaround, no backreferences', () => {
      const patterns = nodes.flatMap((node) => (typeof node.schema['pattern'] === 'string' ? [{ path: node.path, pattern: node.schema['pattern'] }] : []));
      expect(patterns.length).toBeGreaterThan(5);
      for (const { path: at, pattern } of patterns) {
        expect(() => new RegExp(pattern)).not.toThrow();
        expect({ at, re2: !/\(\?[=!<]|\\[1-9]/.test(pattern) }).toEqual({ at, re2: true });
      }
    });

    test('every string and list is bounded (maxLength / maxItems), as the CEL cost budget requires', () => {
      const typeMeta = ['/properties/apiVersion', '/properties/kind']; // validated by the API server itself
      const unbounded = nodes.filter(
        ({ path: at, schema, inJunctor }) => !inJunctor && !typeMeta.includes(at) && ((schema['type'] === 'string' && schema['enum'] === undefined && schema['format'] === undefined && schema['maxLength'] === undefined) || (schema['type'] === 'array' && schema['maxItems'] === undefined)),
      );
      expect(unbounded.map((node) => node.path)).toEqual([]);
    });

    test('map lists key on required fields', () => {
      for (const { path: at, schema } of nodes.filter((node) => node.schema['x-kubernetes-list-type'] === 'map')) {
        const keys = schema['x-kubernetes-list-map-keys'] as string[];
        expect({ at, keys: keys.every((key) => ((schema.items?.['required'] as string[]) ?? []).includes(key)) }).toEqual({ at, keys: true });
      }
    });

    test('every default is valid against its own schema', () => {
      const withDefaults = nodes.filter((node) => node.schema['default'] !== undefined);
      expect(withDefaults.map((node) => node.path)).toEqual(
        expect.arrayContaining(['/properties/spec/properties/exchange', '/properties/spec/properties/retry', '/properties/spec/properties/prefetch', '/properties/spec/properties/deletionPolicy']),
      );
      for (const { path: at, schema } of withDefaults) {
        const { default: value0, ...valueSchema } = schema; // ajv (strict) refuses a default at its root
        const validate = newAjv().compile(toJsonSchema(valueSchema));
        const value = structuredClone(value0);
        expect({ at, valid: validate(value), errors: describeErrors(validate.errors ?? []) }).toEqual({ at, valid: true, errors: '' });
        // The API server prunes defaults too: a default must not carry fields the schema does not declare.
        expect({ at, value }).toEqual({ at, value: schema['default'] });
      }
    });

    test('every CEL rule has a message and a translation in this file (or is a transition rule)', () => {
      expect(celRulesInCrd.length).toBeGreaterThan(0);
      for (const { rule, message, path: at } of celRulesInCrd) {
        expect({ at, rule, message: typeof message, translated: isTransitionRule(rule) || rule in CEL_RULES }).toEqual({ at, rule, message: 'string', translated: true });
      }
      const inCrd = new Set(celRulesInCrd.map(({ rule }) => rule));
      expect(Object.keys(CEL_RULES).filter((rule) => !inCrd.has(rule))).toEqual([]);
    });
  });
});

describe('the examples in k8s/examples', () => {
  test('exist: the real subscriptions of both services, and invalid ones', () => {
    expect(validExamples.map(relative)).toEqual(
      expect.arrayContaining(['k8s/examples/eventsubscriptions/order-service.user-events.yaml', 'k8s/examples/eventsubscriptions/user-service.order-events.yaml']),
    );
    expect(invalidExamples.length).toBeGreaterThanOrEqual(10);
  });

  test.each(validExamples.map((file) => [relative(file), file]))('%s is admitted', (_name, file) => {
    const resource = parse(readFileSync(file, 'utf8')) as Json;
    expect(resource).toMatchObject({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND });
    const { errors } = admit(resource);
    expect(describeErrors(errors)).toBe('');
  });

  test.each(invalidExamples.map((file) => [relative(file), file]))('%s is rejected with the error its comment names', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# INVALID: \S/m);
    const expected = /^# expect-error: (\S+) (\S+)(?: (\S+))?$/m.exec(text);
    expect(expected).not.toBeNull();
    const [, instancePath, keyword, detail] = expected!;
    const resource = parse(text) as Json;
    expect(resource).toMatchObject({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND });
    const { errors } = admit(resource);
    const matching = errors.filter(
      (error) =>
        error.instancePath === instancePath &&
        error.keyword === keyword &&
        (detail === undefined || Object.values(error.params as Record<string, unknown>).includes(detail)),
    );
    expect({ file: relative(file), matching: matching.length > 0, errors: describeErrors(errors) }).toMatchObject({ file: relative(file), matching: true });
  });
});

describe('admission as the API server does it', () => {
  const minimal = { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: { name: 'x' }, spec: { service: 'order-service', queue: 'order-service.user-events', events: [{ type: 'user.created' }] } };

  test('applies the CRD defaults to a minimal subscription', () => {
    const { object, errors } = admit(minimal);
    expect(errors).toEqual([]);
    expect(object['spec']).toEqual({
      ...minimal.spec,
      exchange: 'switchyard.events',
      queueType: 'quorum',
      retry: { maxAttempts: 6, backoff: { delays: ['1s', '5s', '30s', '2m', '10m'] } },
      deliveryLimit: 20,
      prefetch: 20,
      paused: false,
      deletionPolicy: 'Retain',
      nonEmptyQueuePolicy: 'Retain',
    });
  });

  test('accepts the status the operator writes and rejects a condition with an unknown type', () => {
    const status = {
      observedGeneration: 3,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: '2026-11-27T09:00:00Z', observedGeneration: 3 }],
      queueDepth: 0,
      deadLetterDepth: 2,
      consumers: 1,
      lastObservedTime: '2026-11-27T09:00:00.123Z',
      appliedTopology: { queue: 'order-service.user-events', queueType: 'quorum', deliveryLimit: 20, retryDelaysMs: [1000], eventTypes: ['user.created'], deadLetterQueue: 'order-service.user-events.dlq', exchange: 'switchyard.events' },
    };
    expect(describeErrors(admit({ ...minimal, status }).errors)).toBe('');
    const bad = admit({ ...minimal, status: { ...status, conditions: [{ ...status.conditions[0], type: 'Happy' }] } });
    expect(bad.errors.map((error) => [error.instancePath, error.keyword])).toContainEqual(['/status/conditions/0/type', 'enum']);
  });

  test('rejects a retry policy whose exponential multiplier is not above 1 but accepts 1.5', () => {
    const withMultiplier = (multiplier: number) => ({ ...minimal, spec: { ...minimal.spec, retry: { maxAttempts: 3, backoff: { exponential: { initial: '1s', multiplier, max: '1m' } } } } });
    expect(admit(withMultiplier(1.5)).errors).toEqual([]);
    expect(admit(withMultiplier(1)).errors.map((error) => error.keyword)).toContain('exclusiveMinimum');
  });
});
