import type pg from 'pg';
import { OUTBOX_NOTIFY_CHANNEL } from '../publishing/outbox.js';

/** Rows `switchyard outbox list` shows unless told otherwise. */
export const DEFAULT_PARKED_LIST_LIMIT = 50;

/** Something that runs a query: a `pg.Client`, a pool or a pool client. */
export type OutboxDatabase = Pick<pg.ClientBase, 'query'>;

/** A parked outbox row, as `switchyard outbox list` shows it. */
export interface ParkedOutboxRow {
  id: string;
  eventType: string;
  eventVersion: number;
  /** Commit order within the database (the relay publishes in this order). */
  sequence: string;
  /** The row's ordering key, on a schema that has one (`ordering_key`); null otherwise. */
  orderingKey: string | null;
  attempts: number;
  createdAt: string;
  parkedAt: string;
  lastError: string | null;
}

export interface ParkedOutboxList {
  /** Parked rows in the table; `items` holds at most the limit, oldest first. */
  total: number;
  items: ParkedOutboxRow[];
}

/** Which parked rows a retry or discard is about. */
export type ParkedRowSelection = { ids: readonly string[] } | { all: true };

export interface ParkedRowsResult {
  /** Rows retried (or discarded). */
  done: string[];
  /** Ids with no outbox row at all. */
  notFound: string[];
  /** Ids whose row exists but is not parked: the relay still owns it (or has sent it), so it was left alone. */
  notParked: string[];
}

/** Parked rows, oldest first. */
export async function listParkedRows(
  db: OutboxDatabase,
  { limit = DEFAULT_PARKED_LIST_LIMIT }: { limit?: number } = {},
): Promise<ParkedOutboxList> {
  // to_jsonb(o): reads ordering_key where the schema has it, without failing where it does not.
  const [{ rows: items }, { rows: counted }] = await Promise.all([
    db.query<ParkedOutboxRow>(
      `SELECT id, event_type AS "eventType", event_version AS "eventVersion", sequence::text AS sequence,
              to_jsonb(o) ->> 'ordering_key' AS "orderingKey", attempts,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
              to_char(parked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "parkedAt",
              last_error AS "lastError"
         FROM outbox_events o
        WHERE sent_at IS NULL AND parked_at IS NOT NULL
        ORDER BY sequence
        LIMIT $1`,
      [limit],
    ),
    db.query<{ total: number }>(
      'SELECT count(*)::int AS total FROM outbox_events WHERE sent_at IS NULL AND parked_at IS NOT NULL',
    ),
  ]);
  return { total: counted[0]?.total ?? 0, items };
}

/**
 * Un-parks rows: `parked_at` cleared, `attempts` back to 0 (the full unroutable allowance again), due now. Relays
 * publish them at their next claim; a NOTIFY wakes them at once. `last_error` stays until the next attempt.
 */
export async function retryParkedRows(db: OutboxDatabase, selection: ParkedRowSelection): Promise<ParkedRowsResult> {
  const { ids, all } = selectionParams(selection);
  const { rows } = await db.query<{ id: string }>(
    `UPDATE outbox_events SET parked_at = NULL, attempts = 0, next_attempt_at = now()
      WHERE sent_at IS NULL AND parked_at IS NOT NULL AND ($2 OR id = ANY($1::uuid[]))
      RETURNING id`,
    [ids, all],
  );
  if (rows.length > 0) await db.query('SELECT pg_notify($1, $2)', [OUTBOX_NOTIFY_CHANNEL, '']);
  return withMisses(db, ids, rows);
}

/**
 * Deletes parked rows for good: their events are never published. Deleted rather than marked, so nothing (metrics,
 * retention, a later retry) can mistake them for sent or parked; `list --json` beforehand keeps a copy if one is wanted.
 */
export async function discardParkedRows(db: OutboxDatabase, selection: ParkedRowSelection): Promise<ParkedRowsResult> {
  const { ids, all } = selectionParams(selection);
  const { rows } = await db.query<{ id: string }>(
    `DELETE FROM outbox_events
      WHERE sent_at IS NULL AND parked_at IS NOT NULL AND ($2 OR id = ANY($1::uuid[]))
      RETURNING id`,
    [ids, all],
  );
  return withMisses(db, ids, rows);
}

function selectionParams(selection: ParkedRowSelection): { ids: string[]; all: boolean } {
  return 'all' in selection ? { ids: [], all: true } : { ids: [...new Set(selection.ids)], all: false };
}

/** Sorts the ids that were not acted on into unknown ones and ones that are not parked. */
async function withMisses(
  db: OutboxDatabase,
  ids: readonly string[],
  done: ReadonlyArray<{ id: string }>,
): Promise<ParkedRowsResult> {
  const doneIds = new Set(done.map((row) => row.id));
  const missed = ids.filter((id) => !doneIds.has(id));
  const existing = new Set<string>();
  if (missed.length > 0) {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM outbox_events WHERE id = ANY($1::uuid[])', [
      missed,
    ]);
    for (const row of rows) existing.add(row.id);
  }
  return {
    done: [...doneIds],
    notFound: missed.filter((id) => !existing.has(id)),
    notParked: missed.filter((id) => existing.has(id)),
  };
}
