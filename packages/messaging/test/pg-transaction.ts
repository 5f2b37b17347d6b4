import pg from 'pg';
import type { SqlTransaction, TransactionRunner } from '../src/sql-transaction.js';

/**
 * A real Postgres transaction in the shape the outbox and inbox take (the services pass Prisma's). Tests of this
 * package use it so they need no generated client.
 */
export function pgTransactions(databaseUrl: string): { run: TransactionRunner; query: pg.Pool['query']; end(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 5 });
  const run: TransactionRunner = async (work) => {
    const client = await pool.connect();
    const tx: SqlTransaction = { $executeRawUnsafe: async (sql, ...values) => (await client.query(sql, values)).rowCount ?? 0 };
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
  };
  return { run, query: pool.query.bind(pool) as pg.Pool['query'], end: () => pool.end() };
}
