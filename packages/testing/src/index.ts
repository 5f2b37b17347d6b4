export { createTestDatabase, TEST_POSTGRES_URL } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { waitFor } from './wait-for.js';
export { freePort, startServiceProcess, waitUntilReady } from './service-process.js';
export type { ServiceProcess } from './service-process.js';
export { createTestVhost } from './test-vhost.js'; export type { TestVhost } from './test-vhost.js';
export { pgTransactions } from './pg-transactions.js';
export type { PgTransaction, PgTransactions } from './pg-transactions.js';
