/**
 * Keeps the header table of a retry or dead-letter copy encodable. amqplib encodes a header table into a 64 KiB
 * buffer; a copy adds its own bookkeeping (~0.5 KiB) to the original's headers, so an original close to the limit
 * could never be copied: it would be requeued until the broker's delivery limit dropped it without a reason. The
 * largest of the original's own headers are dropped instead, and their names recorded, so the copy always goes.
 */

/** Estimated encoded size a copy's headers may reach: well below amqplib's 64 KiB, with room for estimate error. */
export const MAX_COPY_HEADER_BYTES = 48 * 1024;

/** Names of the headers dropped to fit, comma-separated. */
export const DROPPED_HEADERS_HEADER = 'x-dropped-headers';

/** Upper-bound estimate of a value's AMQP table encoding (type tag + length prefix + content). */
export function encodedSize(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'string') return 5 + Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return 9;
  if (value instanceof Date) return 9;
  if (Buffer.isBuffer(value)) return 5 + value.length;
  if (Array.isArray(value)) return 5 + value.reduce((sum: number, item) => sum + encodedSize(item), 0);
  if (typeof value === 'object') return 5 + tableSize(value as Record<string, unknown>);
  return 5 + Buffer.byteLength(String(value));
}

export function tableSize(table: Readonly<Record<string, unknown>>): number {
  return Object.entries(table).reduce((sum, [key, value]) => sum + 1 + Buffer.byteLength(key) + encodedSize(value), 0);
}

/**
 * Returns `headers` unchanged when they fit; otherwise drops the largest headers not named in `keep` until they
 * do, and adds `x-dropped-headers` naming them.
 */
export function fitHeaders(headers: Record<string, unknown>, keep: ReadonlySet<string>, budget: number = MAX_COPY_HEADER_BYTES): Record<string, unknown> {
  if (tableSize(headers) <= budget) return headers;
  const fitted = { ...headers };
  const droppable = Object.keys(fitted)
    .filter((name) => !keep.has(name))
    .sort((a, b) => encodedSize(fitted[b]) - encodedSize(fitted[a]));
  const dropped: string[] = [];
  for (const name of droppable) {
    delete fitted[name];
    dropped.push(name);
    if (tableSize(fitted) + 1 + DROPPED_HEADERS_HEADER.length + 5 + dropped.join(',').length <= budget) break;
  }
  fitted[DROPPED_HEADERS_HEADER] = dropped.join(',');
  return fitted;
}
