// The EventSubscription CRD in a real API server (the shared control plane: `npm run kube:up`, or `npm test`). The
// server accepting the CRD is the structural-schema check (it refuses a non-structural v1 CRD, a default its
// schema does not admit, a pattern Go's RE2 cannot compile and a CEL rule over the cost budget). In a namespace
// of this file's own, every example in k8s/examples is created and read back with the CRD's defaults applied by
// the server, and every example in k8s/examples/invalid is refused by the server (dry run) with the message its
// `# expect-error:` comment names. The CEL rules run in the server; nothing here re-implements them.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { applyCrd, createTestNamespace, sharedControlPlane, type ControlPlane, type TestNamespace } from '@switchyard/testing';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { API_GROUP, API_VERSION, CRD_NAME, KIND, MAX_DURATION_MS, parseDuration, PLURAL, SINGULAR } from '@switchyard/topology-operator/api';
import { kubectlOutcome, mapLimited, type KubectlOutcome } from './kubectl-outcome.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CRD_FILE = path.join(repoRoot, 'charts', 'topology-operator', 'crds', `${CRD_NAME}.yaml`);
const EXAMPLES_DIR = path.join(repoRoot, 'k8s', 'examples');
const INVALID_DIR = path.join(EXAMPLES_DIR, 'invalid');
/** kubectl processes at once: enough to overlap the server's latency, few enough for a busy 2-core machine. */
const PARALLEL_KUBECTL = 4;

type Json = Record<string, unknown>;
interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
  [keyword: string]: unknown;
}
interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
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
interface Subscription {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Json;
  status?: Json;
}

const crd = parse(readFileSync(CRD_FILE, 'utf8')) as Crd;
const version = crd.spec.versions[0]!;
const rootSchema = version.schema.openAPIV3Schema;

/** What the server fills in for a spec that sets none of these (the CRD's `default`s, spelled out here on purpose). */
const CRD_DEFAULTS = {
  exchange: 'switchyard.events',
  queueType: 'quorum',
  retry: { maxAttempts: 6, backoff: { delays: ['1s', '5s', '30s', '2m', '10m'] } },
  deliveryLimit: 20,
  prefetch: 20,
  paused: false,
  deletionPolicy: 'Retain',
  nonEmptyQueuePolicy: 'Retain',
};

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
const validExamples = yamlFiles(EXAMPLES_DIR).filter((file) => !file.startsWith(`${INVALID_DIR}${path.sep}`));
const invalidExamples = yamlFiles(INVALID_DIR);
const relative = (file: string) => path.relative(repoRoot, file);

/** The one resource in an example file; fails on a YAML error or a second document (the server never sees those). */
function readExample(file: string): Subscription {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(documents) || documents.length !== 1) throw new Error(`${relative(file)} must hold exactly one YAML document`);
  const [document] = documents;
  if (document!.errors.length > 0) throw new Error(`${relative(file)} is not valid YAML: ${document!.errors[0]!.message}`);
  return document!.toJS() as Subscription;
}

const minimal = (name: string, spec: Json = {}): Subscription => ({
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind: KIND,
  metadata: { name },
  spec: { service: 'order-service', queue: 'order-service.user-events', events: [{ type: 'user.created' }], ...spec },
});

let plane: ControlPlane;
let namespace: TestNamespace;

beforeAll(async () => {
  plane = await sharedControlPlane();
  await applyCrd(plane, CRD_FILE);
  namespace = await createTestNamespace(plane, 'esub-crd');
}, 120_000);

afterAll(async () => {
  await namespace?.drop();
}, 90_000);

/** Sends `resource` to the server as `kubectl create` would (strict field validation), in this file's namespace. */
function create(resource: Subscription, options: { dryRun: boolean }): Promise<KubectlOutcome> {
  const { namespace: _ignored, ...metadata } = resource.metadata; // the examples name namespace switchyard
  const args = ['create', '-n', namespace.name, '-o', 'json', '-f', '-', ...(options.dryRun ? ['--dry-run=server'] : [])];
  return kubectlOutcome(plane, args, JSON.stringify({ ...resource, metadata }));
}
const dryRun = (resource: Subscription) => create(resource, { dryRun: true });
const admitted = (outcome: KubectlOutcome) => outcome.code === 0;
const getSubscription = async (name: string) => JSON.parse(await plane.kubectl(['get', PLURAL, name, '-n', namespace.name, '-o', 'json'])) as Subscription;

// ---------------------------------------------------------------------------------------------------------------

describe('the EventSubscription CRD', () => {
  test('names the resource the way the operator and chart use it', () => {
    expect(crd.metadata.name).toBe(CRD_NAME);
    expect(crd.spec).toMatchObject({ group: API_GROUP, scope: 'Namespaced', names: { kind: KIND, plural: PLURAL, singular: SINGULAR, shortNames: ['esub'], categories: ['switchyard'] } });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[API_VERSION, true, true]]);
    expect(version.subresources).toEqual({ status: {} });
  });

  test('is accepted by the API server: structural, established, its names accepted', async () => {
    const served = JSON.parse(await plane.kubectl(['get', 'crd', CRD_NAME, '-o', 'json'])) as { status: { conditions: { type: string; status: string }[] } };
    const conditions = Object.fromEntries(served.status.conditions.map((condition) => [condition.type, condition.status]));
    expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
    expect(conditions['NonStructuralSchema']).toBeUndefined();
    // What the server serves is this file's schema (another test file applying an older copy would show here).
    const servedSchema = (JSON.parse(await plane.kubectl(['get', 'crd', CRD_NAME, '-o', 'json'])) as Crd).spec.versions[0]!.schema.openAPIV3Schema;
    expect(servedSchema).toEqual(rootSchema);
  });

  test('prints Service, Queue, Ready, Depth, DLQ and Age, each from a path the schema declares', async () => {
    const columns = version.additionalPrinterColumns ?? [];
    expect(columns.map((column) => [column.name, column.type, column.jsonPath])).toEqual([
      ['Service', 'string', '.spec.service'],
      ['Queue', 'string', '.spec.queue'],
      ['Ready', 'string', '.status.conditions[?(@.type=="Ready")].status'],
      ['Depth', 'integer', '.status.queueDepth'],
      ['DLQ', 'integer', '.status.deadLetterDepth'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
    // The server does not check that a column's path exists: a typo would print an empty column forever.
    for (const column of columns.filter((c) => !c.jsonPath.startsWith('.metadata.'))) {
      let schema: Schema | undefined = rootSchema;
      for (const segment of column.jsonPath.replace(/\[\?\(.*?\)\]/g, '[]').slice(1).split('.')) {
        schema = schema?.properties?.[segment.replace('[]', '')];
        if (segment.endsWith('[]')) schema = schema?.items;
      }
      expect({ column: column.name, declared: schema !== undefined }).toEqual({ column: column.name, declared: true });
    }
    // And the server prints them from a live object (a path it cannot resolve would print <none> or nothing).
    await create(minimal('printed'), { dryRun: false });
    const status = { conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: '2026-11-27T09:00:00Z' }], queueDepth: 3, deadLetterDepth: 1 };
    await plane.kubectl(['patch', PLURAL, 'printed', '-n', namespace.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    const [header, row] = (await plane.kubectl(['get', 'esub', 'printed', '-n', namespace.name])).split('\n');
    expect(header!.trim().split(/\s+/)).toEqual(['NAME', 'SERVICE', 'QUEUE', 'READY', 'DEPTH', 'DLQ', 'AGE']);
    expect(row!.trim().split(/\s+/).slice(0, 6)).toEqual(['printed', 'order-service', 'order-service.user-events', 'True', '3', '1']);
  });

  test('every CEL rule carries a message (the server would otherwise answer with the rule text)', () => {
    const rules: { at: string; rule: string; message?: string }[] = [];
    const walk = (schema: Schema, at: string) => {
      for (const validation of (schema['x-kubernetes-validations'] as { rule: string; message?: string }[] | undefined) ?? []) rules.push({ at, ...validation });
      for (const [name, child] of Object.entries(schema.properties ?? {})) walk(child, `${at}.${name}`);
      if (schema.items) walk(schema.items, `${at}[]`);
    };
    walk(rootSchema, '');
    expect(rules.length).toBeGreaterThan(5);
    expect(rules.filter((rule) => typeof rule.message !== 'string' || rule.message.length === 0)).toEqual([]);
  });
});

describe('the examples in k8s/examples', () => {
  test('exist: the real subscriptions of both services, and invalid ones', () => {
    expect(validExamples.map(relative)).toEqual(
      expect.arrayContaining(['k8s/examples/eventsubscriptions/order-service.user-events.yaml', 'k8s/examples/eventsubscriptions/user-service.order-events.yaml']),
    );
    expect(invalidExamples.length).toBeGreaterThanOrEqual(10);
  });

  test.each(validExamples.map((file) => [relative(file), file]))('%s is created, and read back with the CRD defaults applied', async (_name, file) => {
    const example = readExample(file);
    expect(example).toMatchObject({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND });
    const outcome = await create(example, { dryRun: false });
    expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: '' });
    const stored = await getSubscription(example.metadata.name);
    // Defaults fill only what the example leaves out; nothing it sets is changed or pruned.
    expect(stored.spec).toEqual({ ...CRD_DEFAULTS, ...example.spec });
  });

  test.each(invalidExamples.map((file) => [relative(file), file]))('%s is refused by the server with the message its comment names', async (_name, file) => {
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# INVALID: \S/m);
    const expected = /^# expect-error: (.+)$/m.exec(text)?.[1];
    expect(expected).toBeDefined();
    const example = readExample(file);
    expect(example).toMatchObject({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND });
    const outcome = await dryRun(example);
    // The server's refusal: "The EventSubscription "<name>" is invalid: ..." or, for a strict decoding error, "Error from server".
    const fromServer = new RegExp(`^(The ${KIND} "${example.metadata.name}" is invalid: |Error from server)`).test(outcome.stderr);
    expect({ admitted: admitted(outcome), fromServer, named: outcome.stderr.includes(expected!), stderr: outcome.stderr }).toMatchObject({
      admitted: false,
      fromServer: true,
      named: true,
    });
  });
});

describe('admission as the API server does it', () => {
  test('fills in the CRD defaults on a minimal subscription, as stored and as read back', async () => {
    const outcome = await create(minimal('minimal-defaults'), { dryRun: false });
    expect(outcome.code).toBe(0);
    const expected = { service: 'order-service', queue: 'order-service.user-events', events: [{ type: 'user.created' }], ...CRD_DEFAULTS };
    expect((JSON.parse(outcome.stdout) as Subscription).spec).toEqual(expected);
    expect((await getSubscription('minimal-defaults')).spec).toEqual(expected);
  });

  test('accepts the status the operator writes through the status subresource, and refuses an unknown condition type', async () => {
    await create(minimal('with-status'), { dryRun: false });
    const status = {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: '2026-11-27T09:00:00Z', observedGeneration: 1 }],
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
    const patchStatus = (value: Json) => kubectlOutcome(plane, ['patch', PLURAL, 'with-status', '-n', namespace.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: value })]);
    const accepted = await patchStatus(status);
    expect({ code: accepted.code, stderr: accepted.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await getSubscription('with-status')).status).toEqual(status);
    const refused = await patchStatus({ ...status, conditions: [{ ...status.conditions[0], type: 'Happy' }] });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('status.conditions[0].type: Unsupported value: "Happy"');
  });

  test('accepts an exponential multiplier of 1.5 (above 1, which is refused)', async () => {
    const withMultiplier = (multiplier: number) => minimal('multiplier', { retry: { maxAttempts: 3, backoff: { exponential: { initial: '1s', multiplier, max: '1m' } } } });
    expect(admitted(await dryRun(withMultiplier(1.5)))).toBe(true);
    expect((await dryRun(withMultiplier(1))).stderr).toContain('spec.retry.backoff.exponential.multiplier: Invalid value: 1: spec.retry.backoff.exponential.multiplier in body should be greater than 1');
  });

  test('keeps the queue immutable (a transition rule, only an update can break it) and lets other fields change', async () => {
    await create(minimal('immutable-queue'), { dryRun: false });
    const patch = (spec: Json) => kubectlOutcome(plane, ['patch', PLURAL, 'immutable-queue', '-n', namespace.name, '--type=merge', '-p', JSON.stringify({ spec })]);
    const renamed = await patch({ queue: 'order-service.renamed' });
    expect(renamed.code).not.toBe(0);
    expect(renamed.stderr).toContain('queue is immutable; create a new EventSubscription for another queue');
    expect((await patch({ prefetch: 50 })).code).toBe(0);
    expect((await getSubscription('immutable-queue')).spec).toMatchObject({ queue: 'order-service.user-events', prefetch: 50 });
  });
});

describe('the CEL rules, run by the server, refuse what the operator refuses', () => {
  const operatorAccepts = (text: string) => {
    try {
      parseDuration(text);
      return true;
    } catch {
      return false;
    }
  };

  test('a duration is admitted exactly when the operator accepts it (the maximum is the same)', async () => {
    // Around the operator's maximum (2147483647 ms = 596h 31m 23.647s) in each unit, and far beyond it, where CEL's
    // duration() itself fails (beyond int64 nanoseconds): an evaluation error is a refusal too.
    expect(MAX_DURATION_MS).toBe(2_147_483_647);
    const samples = ['1ms', '1s', '10m', '1h', '596h', '597h', '600h', '999999999ms', '2147483s', '2147484s', '35791m', '35792m', '999999999h'];
    const outcomes = await mapLimited(samples, PARALLEL_KUBECTL, (delay) => dryRun(minimal('duration', { retry: { maxAttempts: 2, backoff: { delays: [delay] } } })));
    expect(samples.map((delay, i) => ({ delay, admitted: admitted(outcomes[i]!) }))).toEqual(samples.map((delay) => ({ delay, admitted: operatorAccepts(delay) })));
    // The pattern lets every sample through: where refused, it is the CEL rule that refuses.
    for (const [i, delay] of samples.entries()) {
      // (999999999h is beyond what CEL's duration() parses: "type conversion error ... evaluating rule: <message>".)
      const refusal = /spec\.retry\.backoff\.delays\[0\]: Invalid value: "string": .*a duration must be at most 2147483647ms/;
      if (!operatorAccepts(delay)) expect({ delay, stderr: outcomes[i]!.stderr }).toEqual({ delay, stderr: expect.stringMatching(refusal) });
    }
    const elsewhere = await mapLimited(
      [
        { at: 'spec.retry.backoff.exponential.initial', spec: { retry: { maxAttempts: 3, backoff: { exponential: { initial: '600h', multiplier: 2, max: '1h' } } } } },
        { at: 'spec.retry.backoff.exponential.max', spec: { retry: { maxAttempts: 3, backoff: { exponential: { initial: '1s', multiplier: 2, max: '600h' } } } } },
        { at: 'spec.deadLetter.messageTtl', spec: { deadLetter: { messageTtl: '600h' } } },
      ],
      PARALLEL_KUBECTL,
      async ({ at, spec }) => ({ at, stderr: (await dryRun(minimal('duration', spec))).stderr }),
    );
    for (const { at, stderr } of elsewhere) expect({ at, stderr }).toEqual({ at, stderr: expect.stringContaining(`${at}: Invalid value: "string": a duration must be at most 2147483647ms`) });
    expect(admitted(await dryRun(minimal('ttl', { deadLetter: { messageTtl: '168h' } })))).toBe(true);
  });

  test('exponential initial must not exceed max, compared as durations (not as text)', async () => {
    const cases = [
      { initial: '10m', max: '1m', admitted: false },
      { initial: '90s', max: '1m', admitted: false },
      { initial: '60s', max: '1m', admitted: true },
      { initial: '500ms', max: '2m', admitted: true },
    ];
    const outcomes = await mapLimited(cases, PARALLEL_KUBECTL, ({ initial, max }) => dryRun(minimal('exponential', { retry: { maxAttempts: 3, backoff: { exponential: { initial, multiplier: 2, max } } } })));
    expect(cases.map((c, i) => ({ ...c, admitted: admitted(outcomes[i]!) }))).toEqual(cases);
    expect(outcomes[0]!.stderr).toContain('spec.retry.backoff.exponential: Invalid value: "object": exponential initial must not exceed max');
  });

  test('the dead-letter queue must be the service\'s own and differ from the work queue and its retry tiers; amq. names are reserved', async () => {
    const cases = [
      { deadLetter: { queue: 'order-service.user-events' }, admitted: false },
      { deadLetter: { queue: 'order-service.user-events.retry.1s' }, admitted: false },
      { deadLetter: { queue: 'order-service.user-events.errors' }, admitted: true },
      { deadLetter: { queue: 'order-service.dead-letters' }, admitted: true },
      { deadLetter: { maxLength: 5 }, admitted: true },
      { deadLetter: { queue: 'amq.dead' }, admitted: false },
      // Another service's queue (or nobody's): a subscription must not aim its dead letters at it.
      { deadLetter: { queue: 'user-service.order-events' }, admitted: false },
      { deadLetter: { queue: 'shared.dead-letters' }, admitted: false },
    ];
    const outcomes = await mapLimited(cases, PARALLEL_KUBECTL, ({ deadLetter }) => dryRun(minimal('dead-letter', { deadLetter })));
    expect(cases.map((c, i) => ({ ...c, admitted: admitted(outcomes[i]!) }))).toEqual(cases);
    expect(outcomes[0]!.stderr).toContain('deadLetter.queue must differ from the work queue and its retry tiers');
    expect(outcomes[5]!.stderr).toContain('spec.deadLetter.queue: Invalid value: "string": queue names starting with amq. are reserved by RabbitMQ');
    expect(outcomes[6]!.stderr).toContain('deadLetter.queue must be named <service>.<name>, starting with the service name and a dot');
    expect((await dryRun(minimal('exchange', { exchange: 'amq.topic' }))).stderr).toContain('exchange names starting with amq. are reserved by RabbitMQ');
  });
});
