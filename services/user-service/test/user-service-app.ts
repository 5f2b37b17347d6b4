import type { INestApplication } from '@nestjs/common';
import { MessagingRuntime } from '@switchyard/messaging';
import { createServiceApp } from '@switchyard/service-kit';
import { writeTestSigningKey } from '@switchyard/testing';
import { AppModule, SERVICE_NAME } from '../src/app.module.js';
import { tokenIssuerFromConfig } from '../src/auth/token-issuer-from-config.js';
import { loadUserServiceConfig } from '../src/config.js';

/**
 * The real service, wired exactly as main.ts wires it (the event transport connected by `createServiceApp`), against the given database and
 * broker; not listening on a port (supertest drives it). Signs tokens with a fresh key unless `env` names one
 * (AUTH_SIGNING_KEY_FILE).
 */
export async function startUserServiceApp(
  databaseUrl: string,
  rabbitmqUrl: string,
  env: NodeJS.ProcessEnv = {},
): Promise<INestApplication> {
  const config = loadUserServiceConfig({
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: rabbitmqUrl,
    LOG_LEVEL: 'silent',
    // Tests send hundreds of requests from 127.0.0.1; the abuse-limit tests pass their own limits.
    RATE_LIMIT_PER_ADDRESS: '1000000',
    RATE_LIMIT_PER_EMAIL: '1000000',
    AUTH_SIGNING_KEY_FILE: env.AUTH_SIGNING_KEY_FILE ?? writeTestSigningKey(),
    // A free port each: several apps run at once in one test process.
    METRICS_PORT: '0',
    ...env,
  });
  const app = await createServiceApp(AppModule.forRoot(config, await tokenIssuerFromConfig(config)), {
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
