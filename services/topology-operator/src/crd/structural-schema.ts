import { z } from 'zod';
import type { SchemaOverlay } from '../api/v1alpha1/index.js';

/** A node of a CRD's openAPIV3Schema. */
export interface StructuralSchema {
  type?: string;
  properties?: Record<string, StructuralSchema>;
  items?: StructuralSchema;
  required?: string[];
  [keyword: string]: unknown;
}

/**
 * Keywords a generated node may carry, in the order they are written: type and documentation first, then the
 * constraints, the Kubernetes extensions, and the children last, so the committed CRD reads (and diffs) top-down.
 * Anything else zod emits ($ref, anyOf, nullable, ...) is not structural and stops the generator.
 */
const KEYWORD_ORDER = [
  'type',
  'description',
  'format',
  'required',
  'default',
  'enum',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'oneOf',
  'x-kubernetes-validations',
  'items',
  'properties',
] as const;

/**
 * The OpenAPI v3 schema of a zod schema with the overlay's additions, as a structural CRD schema allows it (what
 * the API server needs to default and prune): OpenAPI 3.0's boolean `exclusiveMinimum`, defaults of the input side
 * (what a user may leave out), and without
 * - `$schema`;
 * - `additionalProperties: false` of strict objects: a structural schema may not combine it with `properties`; the
 *   server prunes unknown fields instead (and refuses them under strict field validation, kubectl's default);
 * - the ±(2^53 - 1) bounds zod gives every integer: JavaScript's safe range, not a rule of the API;
 * - empty `properties` (an object whose fields are someone else's, such as `metadata`).
 */
export function structuralSchemaOf(
  schema: z.ZodType,
  overlay: Readonly<Record<string, SchemaOverlay>> = {},
): StructuralSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as Json;
  applyOverlay(json, overlay);
  return normalize(json, '');
}

type Json = Record<string, unknown>;

/**
 * Adds each overlay entry to the node at its path (property names joined by `.`, `[]` for a list's items). A path
 * that is not in the schema, or a keyword the generated node already has, is an error: the overlay only adds.
 */
function applyOverlay(root: Json, overlay: Readonly<Record<string, SchemaOverlay>>): void {
  for (const [path, additions] of Object.entries(overlay)) {
    let node: Json | undefined = root;
    for (const segment of path.split('.')) {
      const [name, ...items] = segment.split('[]');
      node = (node?.['properties'] as Record<string, Json> | undefined)?.[name!];
      for (let i = 0; i < items.length; i++) node = node?.['items'] as Json | undefined;
    }
    if (node === undefined) throw new Error(`CRD overlay: '${path}' is not in the generated schema`);
    for (const [keyword, value] of Object.entries(additions)) {
      if (node[keyword] !== undefined) throw new Error(`CRD overlay: '${path}' already has '${keyword}'`);
      node[keyword] = value;
    }
  }
}

function normalize(node: Json, at: string): StructuralSchema {
  const where = at || '<root>';
  for (const key of Object.keys(node)) {
    if (!(KEYWORD_ORDER as readonly string[]).includes(key) && key !== 'additionalProperties')
      throw new Error(`${where}: '${key}' is not allowed in a structural CRD schema`);
  }
  if (node['additionalProperties'] !== undefined && node['additionalProperties'] !== false)
    throw new Error(`${where}: only closed objects (additionalProperties: false) are supported`);
  const out: StructuralSchema = {};
  for (const key of KEYWORD_ORDER) {
    const value = node[key];
    if (value === undefined) continue;
    if (key === 'properties') {
      const entries = Object.entries(value as Record<string, Json>);
      if (entries.length > 0)
        out.properties = Object.fromEntries(entries.map(([name, child]) => [name, normalize(child, `${at}.${name}`)]));
    } else if (key === 'items') {
      out.items = normalize(value as Json, `${at}[]`);
    } else if ((key === 'minimum' || key === 'maximum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) {
      continue;
    } else {
      (out as Json)[key] = value;
    }
  }
  return out;
}
