import { z } from 'zod';

/** Page size when none is asked for, and the most we return at once (bounds memory and response time). */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** A page of results; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The zod schema of a `Page` of `item`, for the OpenAPI document of a list route. */
export function pageSchema<Item extends z.ZodType>(
  item: Item,
): z.ZodObject<{ items: z.ZodArray<Item>; nextCursor: z.ZodNullable<z.ZodString> }> {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** Cursors are opaque to clients: base64url of the last id seen, so we may change what they hold later. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

const uuid = z.uuid();

/** `?limit=&cursor=` for endpoints ordered by a UUID primary key. */
export const paginationQueryShape = {
  limit: z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_PAGE_SIZE, { error: `must be at most ${MAX_PAGE_SIZE}` })
    .default(DEFAULT_PAGE_SIZE),
  cursor: z
    .string()
    .transform((cursor, ctx) => {
      const id = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!uuid.safeParse(id).success) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this endpoint' });
        return z.NEVER;
      }
      return id;
    })
    .optional(),
};

/** Fetch `limit + 1` rows; this turns them into a page and says where the next one starts. */
export function toPage<Row extends { id: string }, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
): Page<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return { items: pageRows.map(toItem), nextCursor: hasMore && last ? encodeCursor(last.id) : null };
}
