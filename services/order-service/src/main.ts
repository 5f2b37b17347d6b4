import 'reflect-metadata';
import { runService, startMain } from '@switchyard/service-kit';
import { AppModule, SERVICE_NAME } from './app.module.js';
import { loadOrderServiceConfig } from './config.js';

startMain(async () => {
  const config = loadOrderServiceConfig();
  await runService(AppModule.forRoot(config), {
    name: SERVICE_NAME,
    description: 'Orders of Switchyard customers, and the customer profiles they are placed for.',
    version: '0.1.0',
    port: config.PORT,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    apiDocs: config.API_DOCS_ENABLED,
    shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
});
