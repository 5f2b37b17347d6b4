import type { INestApplication } from '@nestjs/common';
import { createServiceApp } from '@switchyard/service-kit';
import { AppModule, SERVICE_NAME } from '../src/app.module.js';
import { loadUserServiceConfig } from '../src/config.js';

/** The real service, wired exactly as main.ts wires it, against the given database; not listening (supertest drives it). */
export async function startUserServiceApp(databaseUrl: string, env: NodeJS.ProcessEnv = {}): Promise<INestApplication> {
  const config = loadUserServiceConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', ...env });
  const app = await createServiceApp(AppModule.forRoot(config), {
    name: SERVICE_NAME,
    description: 'test',
    version: '0.0.0-test',
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
  });
  await app.init();
  return app;
}
