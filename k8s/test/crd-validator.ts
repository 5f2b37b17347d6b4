// Validates custom resources against their CRD's own openAPIV3Schema, the way an API server would as far as JSON
// Schema can: no cluster runs here. Kept apart from the specs so any of them can check a rendered resource.
import { Ajv, type ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema: { openAPIV3Schema: Record<string, unknown> };
}
interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string; plural: string }; scope: string; versions: CrdVersion[] };
}

export interface CrdValidator {
  /** "group/version" → kind this CRD defines, e.g. "switchyard.io/v1alpha1" + "EventSubscription". */
  handles(apiVersion: string, kind: string): boolean;
  /** Problems with `resource` ("/spec/retry/maxAttempts must be <= 20"); empty when the API server would accept it. */
  problems(resource: unknown): string[];
}

/**
 * The CRD's dialect is OpenAPI 3.0, whose `exclusiveMinimum: true` modifies `minimum`; JSON Schema (draft 7, what
 * Ajv speaks) makes exclusiveMinimum the bound itself. Same for the maximum.
 *
 * A structural schema makes the API server drop (or, with strict field validation, as `kubectl apply` and Helm
 * use, reject) fields it does not declare. JSON Schema allows them unless told otherwise, so every object with
 * declared properties gets `additionalProperties: false` unless it preserves unknown fields or says otherwise
 * (only nodes with `type: object`: a structural schema sets no type inside oneOf/anyOf branches, which stay open).
 */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== 'object' || node === null) return node;
  const copy = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, toJsonSchema(value)]));
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof copy[flag] !== 'boolean') continue;
    if (copy[flag]) copy[flag] = copy[bound];
    else delete copy[flag];
    if (copy[flag] !== undefined) delete copy[bound];
  }
  if (copy['type'] === 'object' && copy['properties'] !== undefined && copy['additionalProperties'] === undefined && copy['x-kubernetes-preserve-unknown-fields'] !== true) {
    copy['additionalProperties'] = false;
  }
  return copy;
}

/** Reads a CRD file (one document) and compiles the schema of its storage version. */
export function crdValidator(file: string): CrdValidator {
  const crd = parse(readFileSync(file, 'utf8')) as Crd;
  if (crd.kind !== 'CustomResourceDefinition') throw new Error(`${file} is a ${crd.kind}, not a CustomResourceDefinition`);
  const version = crd.spec.versions.find((candidate) => candidate.storage) ?? crd.spec.versions[0];
  if (!version) throw new Error(`${file} declares no version`);
  // strict: false tolerates the x-kubernetes-* extensions; formats (date-time, int32) are not checked by the
  // API server either beyond what the types say. CEL rules (x-kubernetes-validations) are NOT evaluated here.
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(toJsonSchema(version.schema.openAPIV3Schema) as object);
  const apiVersion = `${crd.spec.group}/${version.name}`;
  return {
    handles: (candidateApiVersion, kind) => candidateApiVersion === apiVersion && kind === crd.spec.names.kind,
    problems: (resource) => (validate(resource) ? [] : (validate.errors ?? []).map((error: ErrorObject) => `${error.instancePath || '/'} ${error.message ?? ''}`.trim())),
  };
}
