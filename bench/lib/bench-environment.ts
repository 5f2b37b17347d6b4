import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@switchyard/testing';
import { fileURLToPath } from 'node:url';
import { describeMachine, type MachineInfo } from './machine-info.js';

/** order-service's schema: the pipeline and the SQL benchmarks run on the tables a service really has. */
export const ORDER_SERVICE_SCHEMA = fileURLToPath(
  new URL('../../services/order-service/prisma/schema.prisma', import.meta.url),
);

export interface BenchEnvironment {
  vhost: TestVhost;
  database: TestDatabase | undefined;
  machine: MachineInfo;
  dispose(): Promise<void>;
}

/** A fresh vhost (and, when asked, a freshly migrated order-service database), dropped by `dispose`. */
export async function benchEnvironment(label: string, withDatabase: boolean): Promise<BenchEnvironment> {
  const [vhost, database] = await Promise.all([
    createTestVhost(label),
    withDatabase ? createTestDatabase(label, ORDER_SERVICE_SCHEMA) : Promise.resolve(undefined),
  ]);
  const machine = await describeMachine(
    vhost.url,
    database?.url ?? process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  );
  return {
    vhost,
    database,
    machine,
    dispose: async () => {
      await Promise.allSettled([vhost.drop(), database?.drop()]);
    },
  };
}
