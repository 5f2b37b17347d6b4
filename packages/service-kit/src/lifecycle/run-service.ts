import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServiceApp, type ServiceAppOptions } from './create-service-app.js';
import { LifecycleState } from './lifecycle-state.js';
import { MetricsServer } from '../metrics/metrics-server.js';

export interface RunServiceOptions extends ServiceAppOptions {
  port: number;
  /** Pause between readiness turning 503 and closing the listener. */
  shutdownDelayMs: number;
  /** Past this (counted after the delay) the process gives up on a graceful stop and exits 1. */
  shutdownTimeoutMs: number;
}

/**
 * Starts a service and owns its end. On SIGTERM or SIGINT: readiness turns 503 at once, then (after the delay)
 * the listener stops accepting, in-flight requests finish, shutdown hooks close connections, and we exit 0.
 */
export async function runService(module: Type | DynamicModule, options: RunServiceOptions): Promise<INestApplication> {
  const app = await createServiceApp(module, options);
  const logger = app.get(Logger);
  const lifecycle = app.get(LifecycleState);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    lifecycle.beginShutdown();
    logger.log({ msg: 'shutting down: readiness is now 503', signal });
    // The delay only lets Kubernetes stop routing to us; the closing itself gets the whole timeout.
    if (options.shutdownDelayMs > 0) await sleep(options.shutdownDelayMs);
    const deadline = setTimeout(() => {
      logger.error({ msg: 'graceful shutdown timed out; exiting', timeoutMs: options.shutdownTimeoutMs });
      process.exit(1);
    }, options.shutdownTimeoutMs);
    deadline.unref();
    try {
      await app.close();
      logger.log('stopped');
      process.exitCode = 0;
    } catch (error) {
      logger.error({ msg: 'error during shutdown', err: error });
      process.exitCode = 1;
    } finally {
      clearTimeout(deadline);
      // Everything is closed; should a library still hold a handle, do not let it keep the pod alive.
      setTimeout(() => process.exit(), 2_000).unref();
    }
  };

  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));

  await app.init();
  // Consumers start before the listener: by the time readiness can say yes, events are flowing too.
  await app.startAllMicroservices();
  await app.listen(options.port, '0.0.0.0');
  const metricsPort = optionalMetricsPort(app);
  logger.log({
    msg: `${options.name} listening on http://localhost:${options.port}`,
    port: options.port,
    ...((options.apiDocs ?? true) ? { docs: `http://localhost:${options.port}/docs` } : {}),
    ...(metricsPort === undefined ? {} : { metrics: `http://localhost:${metricsPort}/metrics` }),
  });
  return app;
}

/** Where the app's `MetricsServer` listens, when its module imports `MetricsModule`. */
function optionalMetricsPort(app: INestApplication): number | undefined {
  try {
    return app.get(MetricsServer, { strict: false }).port;
  } catch {
    return undefined;
  }
}
