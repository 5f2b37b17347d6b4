import { ApiStatusError, badRequest } from './api-status.js';

/**
 * Patch content types accepted. Strategic merge is applied as a plain merge patch, and only to the core kinds
 * (ConfigMap data and Lease spec have no lists with merge keys, so the result is the same); custom resources get
 * 415 for it, as from a real server. Server-side apply (application/apply-patch+yaml) is not supported.
 */
export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

type Json = unknown;
type Container = Record<string, Json> | Json[];

const isObject = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);
const unprocessable = (message: string) => new ApiStatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);

export function applyPatch(document: Json, patch: Json, mediaType: string, strategicAllowed: boolean): Json {
  if (mediaType === MERGE_PATCH || (mediaType === STRATEGIC_MERGE_PATCH && strategicAllowed)) return applyMergePatch(document, patch);
  if (mediaType === JSON_PATCH) return applyJsonPatch(document, patch);
  const accepted = [JSON_PATCH, MERGE_PATCH, ...(strategicAllowed ? [STRATEGIC_MERGE_PATCH] : [])];
  throw new ApiStatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
}

/** RFC 7386 JSON merge patch: objects merge recursively, null removes a key, anything else replaces. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test) on a copy; the document root itself cannot be a target. */
export function applyJsonPatch(document: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = structuredClone(document);
  for (const operation of patch as Record<string, Json>[]) {
    const { op, path, from, value } = operation;
    if (typeof path !== 'string') throw badRequest(`json patch operation ${JSON.stringify(operation)} has no "path"`);
    if ((op === 'move' || op === 'copy') && typeof from !== 'string') throw badRequest(`json patch "${op}" needs "from"`);
    if (op === 'add' || op === 'replace') put(doc, path, structuredClone(value), op);
    else if (op === 'remove') take(doc, path);
    else if (op === 'move') put(doc, path, take(doc, from as string), 'add');
    else if (op === 'copy') put(doc, path, structuredClone(locate(doc, from as string).value), 'add');
    else if (op === 'test') {
      if (JSON.stringify(locate(doc, path).value) !== JSON.stringify(value)) throw unprocessable(`testing value ${path} failed`);
    } else throw badRequest(`unexpected json patch operation ${JSON.stringify(op)}`);
  }
  return doc;
}

/** The container of the pointer's last token, that token, and the value there (undefined when absent). */
function locate(doc: Json, pointer: string): { parent: Container; key: string; value: Json } {
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  const tokens = pointer.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
  const key = tokens.pop() ?? '';
  let parent: Json = doc;
  for (const token of tokens) {
    parent = isObject(parent) ? parent[token] : Array.isArray(parent) ? parent[Number(token)] : undefined;
  }
  if (!isObject(parent) && !Array.isArray(parent)) throw unprocessable(`path ${pointer} does not exist`);
  return { parent, key, value: Array.isArray(parent) ? parent[Number(key)] : parent[key] };
}

function put(doc: Json, pointer: string, value: Json, op: 'add' | 'replace'): void {
  const { parent, key, value: existing } = locate(doc, pointer);
  if (op === 'replace' && existing === undefined) throw unprocessable(`replace operation does not apply: doc is missing key: ${pointer}`);
  if (!Array.isArray(parent)) return void (parent[key] = value);
  const index = key === '-' ? parent.length : Number(key);
  if (!Number.isInteger(index) || index < 0 || index > parent.length - (op === 'replace' ? 1 : 0)) throw unprocessable(`array index out of range in ${pointer}`);
  parent.splice(index, op === 'add' ? 0 : 1, value);
}

function take(doc: Json, pointer: string): Json {
  const { parent, key, value } = locate(doc, pointer);
  if (value === undefined) throw unprocessable(`remove operation does not apply: doc is missing path: ${pointer}`);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return value;
}
