// The EventSubscription CRD, checked without a cluster (none can run here): it is a valid CustomResourceDefinition,
// its schema is structural, and k8s/examples/ validate against THE CRD's OWN openAPIV3Schema the way the API
// server would: defaults applied (ajv useDefaults), unknown fields rejected (strict field validation, which
// `kubectl apply` and Helm use; without it the API server would prune them silently), list types and the CEL
// rules enforced through a small, explicit translation (crd-validator.ts) that fails when the CRD grows a rule it lacks.
import { describe, expect, test } from '@jest/globals';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { API_GROUP, API_VERSION, CRD_NAME, KIND, PLURAL, SINGULAR } from '../../services/topology-operator/src/api-names.js';
import { MAX_DURATION_MS, parseDuration } from '../../services/topology-operator/src/subscription/duration.js';
import { CEL_RULES, celDurationNs, crdValidator, describeErrors, isTransitionRule, newAjv, type Schema, toJsonSchema } from './crd-validator.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CRD_FILE = path.join(repoRoot, 'charts', 'topology-operator', 'crds', `${CRD_NAME}.yaml`);
const EXAMPLES_DIR = path.join(repoRoot, 'k8s', 'examples');
const INVALID_DIR = path.join(EXAMPLES_DIR, 'invalid');

type Json = Record<string, unknown>;
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

// CEL rules: the twins live in crd-validator.ts (shared with the chart spec and the operator's reconcile tests).
const celRulesInCrd = nodes.flatMap((node) => ((node.schema['x-kubernetes-validations'] as { rule: string; message?: string }[] | undefined) ?? []).map((validation) => ({ ...validation, path: node.path })));

const validator = crdValidator(CRD_FILE);
/** Validates like the API server on create: returns the defaulted copy and the errors ("<path> <keyword>: message"). */
const admit = (resource: unknown) => validator.admit(resource);

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
      appliedTopology: {
        queue: 'order-service.user-events',
        queueType: 'quorum',
        deliveryLimit: 20,
        retryDelaysMs: [1000],
        droppedTiers: [{ delayMs: 5000, since: '2026-11-27T08:59:00.000Z' }],
        eventTypes: ['user.created'],
        deadLetterQueue: 'order-service.user-events.dlq',
        exchange: 'switchyard.events',
      },
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

describe('the CEL rules (their JavaScript twins) refuse what the operator would refuse', () => {
  const minimal = { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: { name: 'x' }, spec: { service: 'order-service', queue: 'order-service.user-events', events: [{ type: 'user.created' }] } };
  const withSpec = (spec: Json) => ({ ...minimal, spec: { ...minimal.spec, ...spec } });
  const celErrorsAt = (resource: unknown) => admit(resource).errors.filter((error) => error.keyword === 'x-kubernetes-validations').map((error) => error.instancePath);
  const operatorAccepts = (text: string) => {
    try {
      parseDuration(text);
      return true;
    } catch {
      return false;
    }
  };

  test("the duration twin parses like cel-go's duration(), i.e. Go's time.ParseDuration, for the units the CRD allows", () => {
    expect(celDurationNs('500ms')).toBe(500_000_000n);
    expect(celDurationNs('1s')).toBe(1_000_000_000n);
    expect(celDurationNs('2m')).toBe(120_000_000_000n);
    expect(celDurationNs('1h')).toBe(3_600_000_000_000n);
    expect(() => celDurationNs('5 seconds')).toThrow(/not a duration/);
    expect(() => celDurationNs('999999999h')).toThrow(/overflows/); // beyond int64 nanoseconds: an evaluation error
  });

  test('a duration is admitted exactly when the operator accepts it (the maximum is the same)', () => {
    // Around the operator's maximum (2147483647 ms = 596h 31m 23.647s) in each unit, and far beyond it.
    expect(MAX_DURATION_MS).toBe(2_147_483_647);
    const samples = ['1ms', '1s', '10m', '1h', '596h', '597h', '600h', '999999999ms', '2147483s', '2147484s', '35791m', '35792m', '999999999h'];
    for (const delay of samples) {
      const resource = withSpec({ retry: { maxAttempts: 2, backoff: { delays: [delay] } } });
      expect({ delay, admitted: admit(resource).errors.length === 0 }).toEqual({ delay, admitted: operatorAccepts(delay) });
      // The pattern lets every sample through: the CEL rule alone decides.
      expect({ delay, cel: celErrorsAt(resource).length === 0 }).toEqual({ delay, cel: operatorAccepts(delay) });
    }
    for (const at of ['initial', 'max'] as const) {
      const exponential = { initial: '1s', multiplier: 2, max: '1h', [at]: '600h' };
      expect(celErrorsAt(withSpec({ retry: { maxAttempts: 3, backoff: { exponential } } }))).toContain(`/spec/retry/backoff/exponential/${at}`);
    }
    expect(celErrorsAt(withSpec({ deadLetter: { messageTtl: '600h' } }))).toEqual(['/spec/deadLetter/messageTtl']);
    expect(celErrorsAt(withSpec({ deadLetter: { messageTtl: '168h' } }))).toEqual([]);
  });

  test('exponential initial must not exceed max, compared as durations (not as text)', () => {
    const exponential = (initial: string, max: string) => withSpec({ retry: { maxAttempts: 3, backoff: { exponential: { initial, multiplier: 2, max } } } });
    expect(celErrorsAt(exponential('10m', '1m'))).toEqual(['/spec/retry/backoff/exponential']);
    expect(celErrorsAt(exponential('90s', '1m'))).toEqual(['/spec/retry/backoff/exponential']);
    expect(celErrorsAt(exponential('60s', '1m'))).toEqual([]);
    expect(celErrorsAt(exponential('500ms', '2m'))).toEqual([]);
  });

  test('the dead-letter queue must differ from the work queue and its retry tiers', () => {
    expect(celErrorsAt(withSpec({ deadLetter: { queue: 'order-service.user-events' } }))).toEqual(['/spec']);
    expect(celErrorsAt(withSpec({ deadLetter: { queue: 'order-service.user-events.retry.1s' } }))).toEqual(['/spec']);
    expect(celErrorsAt(withSpec({ deadLetter: { queue: 'order-service.user-events.errors' } }))).toEqual([]);
    expect(celErrorsAt(withSpec({ deadLetter: { queue: 'shared.dead-letters' } }))).toEqual([]);
    expect(celErrorsAt(withSpec({ deadLetter: { maxLength: 5 } }))).toEqual([]);
  });

  test('every CEL rule reads only bounded values, so its estimated cost is bounded', () => {
    // Strings a rule reads (self or a field of self) carry maxLength; lists maxItems (checked for the whole schema above).
    for (const { path: at } of celRulesInCrd) {
      const node = nodes.find((candidate) => candidate.path === at)!;
      const strings = [node.schema, ...Object.values(node.schema.properties ?? {})].filter((schema) => schema['type'] === 'string' && schema['enum'] === undefined);
      expect({ at, bounded: strings.every((schema) => typeof schema['maxLength'] === 'number') }).toEqual({ at, bounded: true });
    }
  });
});

