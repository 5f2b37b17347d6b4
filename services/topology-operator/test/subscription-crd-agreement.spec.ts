// The operator resolves specs itself (a subscription from an older CRD version, or one a test hands over without an API server, is not defaulted), so its
// defaults and rules must be the CRD's. This keeps the two in step: same patterns, limits and defaults, and every
// example the CRD rejects (k8s/examples/invalid) is refused by the operator too.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_DELIVERY_LIMIT, DEFAULT_EXCHANGE, DEFAULT_PREFETCH } from '@switchyard/messaging/topology';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  AMQP_NAME_PATTERN,
  CRD_NAME,
  DEFAULT_DELETION_POLICY,
  DEFAULT_NON_EMPTY_QUEUE_POLICY,
  DEFAULT_QUEUE_TYPE,
  DEFAULT_RETRY,
  DURATION_PATTERN,
  EVENT_TYPE_PATTERN,
  InvalidSubscriptionSpecError,
  MAX_DURATION_MS,
  MAX_QUEUE_NAME_LENGTH,
  QUEUE_PATTERN,
  SERVICE_PATTERN,
} from '../src/api/v1alpha1/index.js';
import { resolveSubscriptionSpec } from '../src/subscription/subscription-spec.js';

interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
  [keyword: string]: unknown;
}
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const crd = parse(
  readFileSync(path.join(repoRoot, 'charts', 'topology-operator', 'crds', `${CRD_NAME}.yaml`), 'utf8'),
) as {
  spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
};
const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties!['spec']!;
const field = (...names: string[]): Schema =>
  names.reduce<Schema>((schema, name) => (name === '[]' ? schema.items! : schema.properties![name]!), spec);

const examplesDir = path.join(repoRoot, 'k8s', 'examples');
const examples = (dir: string) =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.yaml'))
    .map((entry) => path.join(entry.parentPath, entry.name));
const invalid = examples(path.join(examplesDir, 'invalid'));
const valid = examples(examplesDir).filter((file) => !invalid.includes(file));

describe('the operator and the CRD agree', () => {
  it('on patterns and length limits', () => {
    expect(field('service')['pattern']).toBe(SERVICE_PATTERN);
    expect(field('queue')).toMatchObject({ pattern: QUEUE_PATTERN, maxLength: MAX_QUEUE_NAME_LENGTH });
    expect(field('exchange')['pattern']).toBe(AMQP_NAME_PATTERN);
    expect(field('deadLetter', 'queue')['pattern']).toBe(AMQP_NAME_PATTERN);
    expect(field('events', '[]', 'type')['pattern']).toBe(EVENT_TYPE_PATTERN);
    for (const duration of [
      field('retry', 'backoff', 'delays', '[]'),
      field('retry', 'backoff', 'exponential', 'initial'),
      field('retry', 'backoff', 'exponential', 'max'),
      field('deadLetter', 'messageTtl'),
    ]) {
      expect(duration['pattern']).toBe(DURATION_PATTERN);
      // The CEL rule caps each duration at the operator's maximum.
      expect(duration['x-kubernetes-validations']).toEqual([
        expect.objectContaining({ rule: `duration(self) <= duration('${MAX_DURATION_MS}ms')` }),
      ]);
    }
  });

  it('on defaults', () => {
    expect(field('exchange')['default']).toBe(DEFAULT_EXCHANGE);
    expect(field('queueType')['default']).toBe(DEFAULT_QUEUE_TYPE);
    expect(field('retry')['default']).toEqual(DEFAULT_RETRY);
    expect(field('deliveryLimit')['default']).toBe(DEFAULT_DELIVERY_LIMIT);
    expect(field('prefetch')['default']).toBe(DEFAULT_PREFETCH);
    expect(field('paused')['default']).toBe(false);
    expect(field('deletionPolicy')['default']).toBe(DEFAULT_DELETION_POLICY);
    expect(field('nonEmptyQueuePolicy')['default']).toBe(DEFAULT_NON_EMPTY_QUEUE_POLICY);
  });

  it('on numeric limits: each bound accepted, one past it refused', () => {
    const base = { service: 'order-service', queue: 'order-service.limits', events: [{ type: 'user.created' }] };
    for (const name of ['deliveryLimit', 'prefetch'] as const) {
      const { minimum, maximum } = field(name) as { minimum: number; maximum: number };
      expect(() => resolveSubscriptionSpec({ ...base, [name]: minimum })).not.toThrow();
      expect(() => resolveSubscriptionSpec({ ...base, [name]: maximum })).not.toThrow();
      expect(() => resolveSubscriptionSpec({ ...base, [name]: minimum - 1 })).toThrow(InvalidSubscriptionSpecError);
      expect(() => resolveSubscriptionSpec({ ...base, [name]: maximum + 1 })).toThrow(InvalidSubscriptionSpecError);
    }
    const { minimum, maximum } = field('retry', 'maxAttempts') as { minimum: number; maximum: number };
    const exponential = { initial: '1ms', multiplier: 2, max: '1h' };
    expect(() =>
      resolveSubscriptionSpec({ ...base, retry: { maxAttempts: maximum, backoff: { exponential } } }),
    ).not.toThrow();
    expect(() =>
      resolveSubscriptionSpec({ ...base, retry: { maxAttempts: maximum + 1, backoff: { exponential } } }),
    ).toThrow(/spec\.retry\.maxAttempts/);
    expect(() =>
      resolveSubscriptionSpec({ ...base, retry: { maxAttempts: minimum - 1, backoff: { delays: [] } } }),
    ).toThrow(/spec\.retry\.maxAttempts/);
  });

  it.each(valid.map((file) => [path.relative(repoRoot, file), file]))(
    'resolves the valid example %s',
    (_name, file) => {
      expect(() =>
        resolveSubscriptionSpec((parse(readFileSync(file, 'utf8')) as { spec: unknown }).spec),
      ).not.toThrow();
    },
  );

  it.each(invalid.map((file) => [path.relative(repoRoot, file), file]))(
    'refuses the invalid example %s, like the API server',
    (_name, file) => {
      expect(() => resolveSubscriptionSpec((parse(readFileSync(file, 'utf8')) as { spec: unknown }).spec)).toThrow(
        InvalidSubscriptionSpecError,
      );
    },
  );
});
