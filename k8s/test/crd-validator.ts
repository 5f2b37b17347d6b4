// Validates custom resources against their CRD's own openAPIV3Schema the way an API server would on create, as far
// as it can without a cluster (none can run here): defaults applied, unknown fields rejected (strict field
// validation, which `kubectl apply` and Helm use), list types enforced, formats checked, and the CEL rules
// (x-kubernetes-validations) evaluated through explicit JavaScript twins (CEL_RULES below). A rule without a twin
// is an error, never silently skipped. Shared by the CRD spec (k8s/test/eventsubscription-crd.spec.ts), the chart
// spec (rendered subscriptions) and the operator's reconcile tests (the status it writes).
import { Ajv, type AnySchemaObject, type ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema | boolean };
type Json = Record<string, unknown>;

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema: { openAPIV3Schema: Schema };
}
interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string; plural: string }; scope: string; versions: CrdVersion[] };
}

// ---------------------------------------------------------------------------------------------------------------
// CEL rules, translated one by one. Transition rules (those naming oldSelf) run only on update, never on create,
// so a single object cannot trigger them and they are skipped.

const MAX_GO_DURATION_NS = 2n ** 63n - 1n;
const GO_UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, µs: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/**
 * CEL's `duration(string)` as cel-go implements it: Go's time.ParseDuration, in nanoseconds. Only the integer
 * forms the CRD's pattern lets through (no fractions, one or more unit groups); anything else, or a value beyond
 * int64 nanoseconds (e.g. 999999999h), is an evaluation error, which the API server reports as a rejection.
 */
export function celDurationNs(text: string): bigint {
  const groups = /^(?:\d+(?:ns|us|µs|ms|s|m|h))+$/.test(text) ? [...text.matchAll(/(\d+)(ns|us|µs|ms|s|m|h)/g)] : [];
  if (groups.length === 0) throw new Error(`CEL evaluation error: '${text}' is not a duration`);
  const total = groups.reduce((sum, [, digits, unit]) => sum + BigInt(digits!) * GO_UNIT_NS[unit!]!, 0n);
  if (total > MAX_GO_DURATION_NS) throw new Error(`CEL evaluation error: duration '${text}' overflows`);
  return total;
}

/** A rule whose evaluation errors is a rejection, as on the API server. */
const orReject = (evaluate: () => boolean): boolean => {
  try {
    return evaluate();
  } catch {
    return false;
  }
};
const has = (object: unknown, field: string): boolean => typeof object === 'object' && object !== null && (object as Json)[field] !== undefined;

export const CEL_RULES: Record<string, (self: Json & string) => boolean> = {
  "self.queue.startsWith(self.service + '.')": (self) => String(self['queue']).startsWith(`${String(self['service'])}.`),
  "!has(self.deadLetter) || !has(self.deadLetter.queue) || (self.deadLetter.queue != self.queue && !self.deadLetter.queue.startsWith(self.queue + '.retry.'))": (self) => {
    if (!has(self, 'deadLetter') || !has(self['deadLetter'], 'queue')) return true;
    const deadLetterQueue = String((self['deadLetter'] as Json)['queue']);
    return deadLetterQueue !== self['queue'] && !deadLetterQueue.startsWith(`${String(self['queue'])}.retry.`);
  },
  "!self.endsWith('.dlq') && !self.contains('.retry.')": (self) => !self.endsWith('.dlq') && !self.includes('.retry.'),
  "!self.startsWith('amq.')": (self) => !self.startsWith('amq.'),
  '!has(self.backoff.delays) || size(self.backoff.delays) == self.maxAttempts - 1': (self) => {
    const delays = (self['backoff'] as Json | undefined)?.['delays'] as unknown[] | undefined;
    return delays === undefined || delays.length === Number(self['maxAttempts']) - 1;
  },
  "duration(self) <= duration('2147483647ms')": (self) => orReject(() => celDurationNs(self) <= celDurationNs('2147483647ms')),
  'duration(self.initial) <= duration(self.max)': (self) => orReject(() => celDurationNs(String(self['initial'])) <= celDurationNs(String(self['max']))),
};
export const isTransitionRule = (rule: string): boolean => /\boldSelf\b/.test(rule);

// ---------------------------------------------------------------------------------------------------------------
// From the Kubernetes dialect of OpenAPI v3 to JSON Schema for ajv, minimally:
// - exclusiveMinimum/exclusiveMaximum are booleans beside minimum/maximum in OpenAPI 3.0 (numbers in draft 7);
// - x-kubernetes-int-or-string means integer or string; x-kubernetes-preserve-unknown-fields keeps an object open;
// - every other object with declared properties is closed (additionalProperties: false): strict field validation
//   (only nodes with `type: object`: a structural schema sets no type inside oneOf/anyOf branches, which stay open).
// x-kubernetes-list-type and x-kubernetes-validations become ajv keywords (see newAjv).

export function toJsonSchema(schema: Schema): Schema {
  const out: Schema = { ...schema };
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (out[flag] === true) {
      out[flag] = out[bound];
      delete out[bound];
    } else if (out[flag] === false) delete out[flag];
  }
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

export function newAjv(): Ajv {
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

export const describeErrors = (errors: ErrorObject[]): string => errors.map((error) => `${error.instancePath || '/'} ${error.keyword}: ${error.message ?? ''}`).join('\n');

// ---------------------------------------------------------------------------------------------------------------

export interface CrdValidator {
  /** "group/version" → kind this CRD defines, e.g. "switchyard.io/v1alpha1" + "EventSubscription". */
  handles(apiVersion: string, kind: string): boolean;
  /** Problems with `resource` ("/spec/retry/maxAttempts must be <= 20"); empty when the API server would accept it. */
  problems(resource: unknown): string[];
  /** Admission on create: the defaulted copy of `resource` and the errors. */
  admit(resource: unknown): { object: Json; errors: ErrorObject[] };
  /** Problems with a status as the operator writes it through the status subresource (validated alone). */
  statusProblems(status: unknown): string[];
}

/** Reads a CRD file (one document) and compiles the schema of its storage version. */
export function crdValidator(file: string): CrdValidator {
  const crd = parse(readFileSync(file, 'utf8')) as Crd;
  if (crd.kind !== 'CustomResourceDefinition') throw new Error(`${file} is a ${crd.kind}, not a CustomResourceDefinition`);
  const version = crd.spec.versions.find((candidate) => candidate.storage) ?? crd.spec.versions[0];
  if (!version) throw new Error(`${file} declares no version`);
  const root = version.schema.openAPIV3Schema;
  const validate = newAjv().compile(toJsonSchema(root));
  const statusSchema = root.properties?.['status'];
  const validateStatus = statusSchema === undefined ? undefined : newAjv().compile(toJsonSchema(statusSchema));
  const apiVersion = `${crd.spec.group}/${version.name}`;
  const admit = (resource: unknown) => {
    const object = structuredClone(resource) as Json;
    return { object, errors: validate(object) ? [] : [...(validate.errors ?? [])] };
  };
  const asText = (errors: ErrorObject[]) => errors.map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`.trim());
  return {
    handles: (candidateApiVersion, kind) => candidateApiVersion === apiVersion && kind === crd.spec.names.kind,
    problems: (resource) => asText(admit(resource).errors),
    admit,
    statusProblems: (status) => {
      if (validateStatus === undefined) return ['the CRD declares no status'];
      // JSON round trip: what reaches the API server is JSON (undefined fields vanish, Dates become strings).
      const copy = JSON.parse(JSON.stringify(status)) as unknown;
      return validateStatus(copy) ? [] : asText([...(validateStatus.errors ?? [])]);
    },
  };
}
