import { createHash } from 'node:crypto';

/**
 * The fingerprint the inbox keeps of an event: SHA-256 (hex) of the canonical JSON of `{ data, type }`, where `data`
 * is what the handler is given (validated, and upcast to the latest version this consumer knows). Hashing the
 * handler's view rather than the raw body means two deliveries that can only have the same effect hash alike even when
 * their bytes differ: key order or spacing from another producer, fields the contract drops, or the same outbox row
 * published at two versions by relays of two releases during a rolling deploy.
 */
export function payloadHash(type: string, data: unknown): string {
  return createHash('sha256').update(canonicalJson({ data, type }), 'utf8').digest('hex');
}

/**
 * JSON with object keys sorted at every level, so equal values give equal bytes whatever order their keys were built
 * in. Otherwise as `JSON.stringify`: `toJSON` is honoured, undefined members are left out (null in arrays).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  const plain = hasToJson(value) ? value.toJSON() : value;
  if (Array.isArray(plain)) return plain.map((item) => sortKeys(item) ?? null);
  if (typeof plain !== 'object' || plain === null) return plain;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(plain).sort()) sorted[key] = sortKeys((plain as Record<string, unknown>)[key]);
  return sorted;
}

function hasToJson(value: unknown): value is { toJSON(): unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function';
}
