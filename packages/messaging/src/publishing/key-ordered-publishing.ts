/** What became of a batch: rows confirmed, rows whose publish failed, rows not tried because an earlier one failed. */
export interface KeyOrderedOutcome<Row> {
  sent: Row[];
  failed: Array<{ row: Row; error: unknown }>;
  /** Left for a later batch, untouched: publishing them now would put them ahead of a failed row of their key. */
  notAttempted: Row[];
}

/**
 * Publishes each key's rows (given in sequence order) one after another, each only once the previous one is
 * confirmed, and stops the key at its first failure. Keys run side by side, so a batch of distinct keys is still
 * pipelined (about one confirm round trip). A later row is never confirmed ahead of an earlier one of its key:
 * with both in flight, the broker could confirm the later one and refuse (or return) the earlier.
 */
export async function publishInKeyOrder<Row>(
  keys: readonly (readonly Row[])[],
  publish: (row: Row) => Promise<void>,
): Promise<KeyOrderedOutcome<Row>> {
  const outcome: KeyOrderedOutcome<Row> = { sent: [], failed: [], notAttempted: [] };
  await Promise.all(
    keys.map(async (rows) => {
      for (const [i, row] of rows.entries()) {
        try {
          // Inside the try: a publisher that throws synchronously (say, while encoding) fails its row only.
          await publish(row);
          outcome.sent.push(row);
        } catch (error) {
          outcome.failed.push({ row, error });
          outcome.notAttempted.push(...rows.slice(i + 1));
          return;
        }
      }
    }),
  );
  return outcome;
}
