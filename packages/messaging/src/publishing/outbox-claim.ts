import type pg from 'pg';
import type { OutboxRow } from './outbox-relay.js';

/**
 * A row the relay still has to publish. Every "unsent" test below goes through this one line: a parked row (no queue
 * bound its event type, `switchyard outbox`) has left the relay's hands like a dead letter, so it is never claimed
 * and no longer holds back its key.
 */
const pending = (row: string): string => `${row}.sent_at IS NULL AND ${row}.parked_at IS NULL`;

const ROW_COLUMNS = (row: string): string =>
  `${row}.id, ${row}.event_type AS "eventType", ${row}.event_version AS "eventVersion", ${row}.payload,
       ${row}.correlation_id AS "correlationId", ${row}.traceparent, ${row}.tracestate, ${row}.created_at AS "createdAt",
       ${row}.attempts, ${row}.ordering_key AS "orderingKey", ${row}.sequence::text AS sequence`;

/**
 * Claims the heads of up to `$1` keys: due rows (in commit order) with no earlier unsent row of their key, leaving
 * out the ids in `$2` (rows this replica cannot encode, and with them their keys). Locking a key's head locks the key:
 * the rows after it are no other replica's heads while it is unsent.
 *
 * `ORDER BY sent_at, sequence` sorts exactly like `ORDER BY sequence` here (every sent_at is NULL), but matches the
 * (sent_at, sequence) index, so Postgres reads the candidates in index order; it does not treat `IS NULL` as an
 * equality, and would otherwise sort the whole backlog on every claim (measured: 13 ms instead of 0.13 ms per claim
 * with 40k unsent rows). "Is it its key's head?" is one index probe per candidate: the key's first unsent row, read
 * in index order (through the key index; or, when one key is most of the table, the first entry of the other one).
 * Written as `NOT EXISTS (an earlier unsent row)`, Postgres may plan it as a hash anti join (hashing every unsent
 * row, then sorting) or, for a key it believes common, as a sequential scan per candidate (measured: 72 s for one
 * claim with 40k unsent rows of one key); the ordered `LIMIT 1` leaves it only index scans.
 */
export const OUTBOX_CLAIM_SQL = `SELECT ${ROW_COLUMNS('o')}
  FROM outbox_events o
 WHERE ${pending('o')} AND o.next_attempt_at <= now() AND o.id <> ALL($2::uuid[])
   AND o.sequence = (SELECT head.sequence FROM outbox_events head
                      WHERE head.ordering_key = o.ordering_key AND ${pending('head')}
                      ORDER BY head.sent_at, head.sequence
                      LIMIT 1)
 ORDER BY o.sent_at, o.sequence
 LIMIT $1
 FOR UPDATE OF o SKIP LOCKED`;

/**
 * The next unsent rows of the keys whose heads (`$1` keys, `$2` their sequences) were just claimed, up to `$3` in all,
 * in commit order: a prefix of each key's rows. Only this transaction can claim them (their heads are locked), so
 * the plain `FOR UPDATE` waits for nobody; it is there for a row committed out of sequence order, which another
 * replica may have claimed as its own key head meanwhile (waiting for it keeps the key's rows in one line).
 * Locked in sequence order, after the limit: only the rows taken.
 */
export const OUTBOX_CLAIM_FOLLOWERS_SQL = `SELECT ${ROW_COLUMNS('o')}, o.next_attempt_at <= now() AS due
  FROM outbox_events o
 WHERE ${pending('o')} AND o.id IN (
        SELECT next.id
          FROM unnest($1::text[], $2::bigint[]) AS head(ordering_key, sequence)
         CROSS JOIN LATERAL (
               SELECT e.id, e.sequence FROM outbox_events e
                WHERE e.ordering_key = head.ordering_key AND ${pending('e')} AND e.sequence > head.sequence
                ORDER BY e.sent_at, e.sequence
                LIMIT $3) AS next
         ORDER BY next.sequence
         LIMIT $3)
 ORDER BY o.sequence
 FOR UPDATE OF o`;

/** A claimed row: an outbox row plus where it stands in commit order (a bigint, as text). */
export interface ClaimedRow extends OutboxRow {
  sequence: string;
}

/**
 * Claims the next batch (at most `batchSize` rows) in the caller's transaction: the heads of the first due keys in
 * commit order, then, while room is left, the rows that follow them in their keys. Returns each key's rows in
 * sequence order, keys in the order of their heads. A key's rows stop before the first one that is not due yet or
 * is in `excludedIds`: nothing of a key is published past a row that cannot go now.
 */
export async function claimOutboxBatch(
  client: pg.PoolClient,
  batchSize: number,
  excludedIds: readonly string[],
): Promise<ClaimedRow[][]> {
  const { rows: heads } = await client.query<ClaimedRow>(OUTBOX_CLAIM_SQL, [batchSize, excludedIds]);
  const keys = new Map(heads.map((head) => [head.orderingKey, [head]]));
  const room = batchSize - heads.length;
  if (heads.length === 0 || room === 0) return [...keys.values()];
  const { rows: followers } = await client.query<ClaimedRow & { due: boolean }>(OUTBOX_CLAIM_FOLLOWERS_SQL, [
    heads.map((head) => head.orderingKey),
    heads.map((head) => head.sequence),
    room,
  ]);
  const excluded = new Set(excludedIds);
  const stopped = new Set<string>();
  for (const { due, ...row } of followers) {
    if (stopped.has(row.orderingKey)) continue;
    if (!due || excluded.has(row.id)) stopped.add(row.orderingKey);
    else keys.get(row.orderingKey)!.push(row);
  }
  return [...keys.values()];
}
