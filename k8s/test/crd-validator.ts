// What is left of the JavaScript emulation of the API server's CRD validation: the status schema alone, for
// services/topology-operator/test/subscription-reconcile.spec.ts, which checks the status its pure reconcile step
// computes without a server. Everything a real server now checks (the spec, defaults, strict fields, the CEL
// rules) is checked by one: k8s/test/eventsubscription-crd.spec.ts and helm-install.spec.ts. The status schema has
// no CEL rules; one appearing there is an error here, never silently skipped. Delete this file once that test
// sends the status to the API server (the status subresource) instead.
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
    compile(validations: { rule: string }[]) {
      throw new Error(`CEL rules are the API server's to evaluate, not this file's: ${validations.map(({ rule }) => rule).join('; ')}`);
    },
  });
  return ajv;
}

// ---------------------------------------------------------------------------------------------------------------

export interface CrdValidator {
  /** Problems with a status as the operator writes it through the status subresource (validated alone). */
  statusProblems(status: unknown): string[];
}

/** Reads a CRD file (one document) and compiles the status schema of its storage version. */
export function crdValidator(file: string): CrdValidator {
  const crd = parse(readFileSync(file, 'utf8')) as Crd;
  if (crd.kind !== 'CustomResourceDefinition') throw new Error(`${file} is a ${crd.kind}, not a CustomResourceDefinition`);
  const version = crd.spec.versions.find((candidate) => candidate.storage) ?? crd.spec.versions[0];
  if (!version) throw new Error(`${file} declares no version`);
  const statusSchema = version.schema.openAPIV3Schema.properties?.['status'];
  const validateStatus = statusSchema === undefined ? undefined : newAjv().compile(toJsonSchema(statusSchema));
  const asText = (errors: ErrorObject[]) => errors.map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`.trim());
  return {
    statusProblems: (status) => {
      if (validateStatus === undefined) return ['the CRD declares no status'];
      // JSON round trip: what reaches the API server is JSON (undefined fields vanish, Dates become strings).
      const copy = JSON.parse(JSON.stringify(status)) as unknown;
      return validateStatus(copy) ? [] : asText([...(validateStatus.errors ?? [])]);
    },
  };
}
