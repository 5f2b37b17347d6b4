/**
 * Keeps the header table of a retry or dead-letter copy encodable. amqplib encodes a header table into a 64 KiB
 * buffer; a copy adds its own bookkeeping (~0.5 KiB) to the original's headers, so an original close to the limit
 * could never be copied: it would be requeued until the broker's delivery limit dropped it without a reason. So
 * the copy sheds what it can spare, largest first, and names what it shed; it always goes.
 */

/** Estimated encoded size a copy's headers may reach: well below amqplib's 64 KiB, with room for estimate error. */
export const MAX_COPY_HEADER_BYTES = 48 * 1024;

/** A header that must stay is still cut to this many characters when nothing else is left to shed. */
export const MAX_ESSENTIAL_HEADER_CHARS = 1_024;

/** Headers above this are shed before any smaller one. */
const LARGE_HEADER_BYTES = 1_024;

/** Names of the headers dropped (or, with `(cut)`, shortened) to fit, comma-separated. */
export const DROPPED_HEADERS_HEADER = 'x-dropped-headers';

export interface HeaderPriorities {
  /** Shed only after every other header: e.g. trace context, the original routing. */
  preferred: ReadonlySet<string>;
  /** Never dropped (cut to {@link MAX_ESSENTIAL_HEADER_CHARS} as a last resort): the event's identity and the failure bookkeeping. */
  essential: ReadonlySet<string>;
}

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
 * Returns `headers` unchanged when they fit. Otherwise drops, largest first: large ordinary headers, then large
 * preferred ones, then the remaining ordinary and preferred ones, and as a last resort cuts essential strings to
 * {@link MAX_ESSENTIAL_HEADER_CHARS}, until they fit; `x-dropped-headers` names what went.
 */
export function fitHeaders(
  headers: Record<string, unknown>,
  priorities: HeaderPriorities,
  budget: number = MAX_COPY_HEADER_BYTES,
): Record<string, unknown> {
  if (tableSize(headers) <= budget) return headers;
  const fitted = { ...headers };
  const shed: string[] = [];
  const fits = (): boolean =>
    tableSize(fitted) + encodedSize(shed.join(',')) + DROPPED_HEADERS_HEADER.length + 1 <= budget;
  const bySizeDescending = (names: string[]): string[] =>
    names.sort((a, b) => encodedSize(fitted[b]) - encodedSize(fitted[a]));

  const { preferred, essential } = priorities;
  const ordinary = (name: string): boolean => !preferred.has(name) && !essential.has(name);
  const spareable = (name: string): boolean => !essential.has(name);
  const large = (name: string): boolean => encodedSize(fitted[name]) > LARGE_HEADER_BYTES;
  // Large headers go before small ones whatever their rank: one oversized trace header should not cost every small
  // header of the producer's own.
  const passes = [(n: string) => ordinary(n) && large(n), (n: string) => spareable(n) && large(n), ordinary, spareable];
  for (const spare of passes) {
    for (const name of bySizeDescending(Object.keys(fitted).filter(spare))) {
      if (fits()) break;
      delete fitted[name];
      shed.push(name);
    }
  }
  for (const name of bySizeDescending(Object.keys(fitted))) {
    if (fits()) break;
    const value = fitted[name];
    if (typeof value === 'string' && value.length > MAX_ESSENTIAL_HEADER_CHARS) {
      fitted[name] = `${value.slice(0, MAX_ESSENTIAL_HEADER_CHARS - 1)}…`;
      shed.push(`${name}(cut)`);
    } else if (
      typeof value !== 'string' &&
      typeof value !== 'number' &&
      encodedSize(value) > MAX_ESSENTIAL_HEADER_CHARS
    ) {
      // A table or array under an essential name is not ours (ours are scalars): a forgery, dropped.
      delete fitted[name];
      shed.push(name);
    }
  }
  fitted[DROPPED_HEADERS_HEADER] = shed.join(',');
  return fitted;
}
