import type { INestApplication } from '@nestjs/common';
import { MessagingRuntime } from '@switchyard/messaging';
import { createServiceApp } from '@switchyard/service-kit';
import { startTestTokenIssuer, type TestTokenIssuer } from '@switchyard/testing';
import { AppModule, SERVICE_NAME } from '../src/app.module.js';
import { loadOrderServiceConfig } from '../src/config.js';

let sharedIssuer: Promise<TestTokenIssuer> | undefined;

/**
 * The token issuer the app trusts unless a test passes its own AUTH_JWKS_URL: one per test file (jest module
 * registry), signing tokens for any user id, as user-service would after a login.
 */
export function testTokenIssuer(): Promise<TestTokenIssuer> {
  sharedIssuer ??= startTestTokenIssuer();
  return sharedIssuer;
}

/**
 * The real service, wired exactly as main.ts wires it (the event transport connected by `createServiceApp`), against the given database and
 * broker; not listening on a port (supertest drives it).
 */
export async function startOrderServiceApp(
  databaseUrl: string,
  rabbitmqUrl: string,
  env: NodeJS.ProcessEnv = {},
): Promise<INestApplication> {
  const config = loadOrderServiceConfig({
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: rabbitmqUrl,
    LOG_LEVEL: 'silent',
    AUTH_JWKS_URL: env.AUTH_JWKS_URL ?? (await testTokenIssuer()).jwksUrl,
    // A free port each: several apps run at once in one test process.
    METRICS_PORT: '0',
    ...env,
  });
  const app = await createServiceApp(AppModule.forRoot(config), {
    name: SERVICE_NAME,
    description: 'test',
    version: '0.0.0-test',
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    apiDocs: config.API_DOCS_ENABLED,
  });
  await app.init();
  await app.startAllMicroservices();
  // Connected, with the consumer and publisher set up: what readiness waits for in production too.
  // Publishing and consuming use separate connections; tests expect both up before they start.
  const messaging = app.get(MessagingRuntime);
  await Promise.all([messaging.connection.start(), messaging.consumerConnection.start()]);
  return app;
}
