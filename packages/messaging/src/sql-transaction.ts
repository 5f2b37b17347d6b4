/**
 * The part of a Prisma transaction client the outbox and inbox use. Structural, so every service's generated
 * client fits without this package knowing its models; the SQL is parameterised, never interpolated.
 */
export interface SqlTransaction {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  /** The rows a query returns (the inbox reads back the payload hash of an event it already holds). */
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}

/** Runs `work` in one database transaction (a service passes `(work) => prisma.$transaction(work)`). */
export type TransactionRunner<Tx extends SqlTransaction = SqlTransaction> = <R>(
  work: (tx: Tx) => Promise<R>,
) => Promise<R>;
