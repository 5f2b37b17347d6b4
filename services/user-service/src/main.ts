import 'reflect-metadata';
import { runService, startMain } from '@switchyard/service-kit';
import { AppModule, SERVICE_NAME } from './app.module.js';
import { tokenIssuerFromConfig } from './auth/token-issuer-from-config.js';
import { loadUserServiceConfig } from './config.js';

startMain(async () => {
  const config = loadUserServiceConfig();
  await runService(AppModule.forRoot(config, await tokenIssuerFromConfig(config)), {
    name: SERVICE_NAME,
    description: 'Users of Switchyard: accounts, credentials and their order statistics.',
    version: '0.1.0',
    port: config.PORT,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    apiDocs: config.API_DOCS_ENABLED,
    shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
});
