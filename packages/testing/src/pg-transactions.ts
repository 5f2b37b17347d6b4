import pg from 'pg';

/** A Postgres transaction in the shape the outbox and inbox take (`$executeRawUnsafe`, `$queryRawUnsafe`, like Prisma's). */
export interface PgTransaction {
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): Promise<T>;
}

export interface PgTransactions {
  /** Runs `work` in BEGIN … COMMIT on a pooled connection, ROLLBACK when it throws. */
  run<R>(work: (tx: PgTransaction) => Promise<R>): Promise<R>;
  query: pg.Pool['query'];
  end(): Promise<void>;
}

/**
 * Real Postgres transactions without a generated Prisma client, for tests and benchmarks of the messaging
 * layer (the services pass Prisma's `$transaction`).
 */
export function pgTransactions(databaseUrl: string, maxConnections = 5): PgTransactions {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: maxConnections });
  return {
    async run(work) {
      const client = await pool.connect();
      const tx: PgTransaction = {
        $executeRawUnsafe: async (sql, ...values) => (await client.query(sql, values)).rowCount ?? 0,
        // Like Prisma's: the rows, typed by the caller.
        $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]) => (await client.query(sql, values)).rows as T,
      };
      try {
        await client.query('BEGIN');
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
    query: pool.query.bind(pool) as pg.Pool['query'],
    end: () => pool.end(),
  };
}
