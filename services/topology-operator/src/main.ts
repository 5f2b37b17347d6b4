// The operator process: configuration from the environment, one RabbitMQ connection, the Kubernetes client from
// the service account (or KUBECONFIG / ~/.kube/config outside a cluster), the HTTP probes, and a graceful SIGTERM.
import { KubeConfig } from '@kubernetes/client-node';
import { RabbitMqConnection } from '@switchyard/messaging/topology';
import { OPERATOR_NAME } from './api/v1alpha1/index.js';
import { type OperatorConfig, operatorConfigFromEnv, OperatorConfigError } from './config/operator-config.js';
import { connectionChannels } from './controller/broker-channels.js';
import { OperatorHttpServer } from './http/operator-http-server.js';
import { TopologyOperator } from './operator.js';
import { createOperatorLogger } from './operator-logger.js';
import { errorMessage } from './errors.js';

/** A stop that takes longer than this (a hung API server or broker) ends the process anyway: Kubernetes would SIGKILL at 30 s. */
const SHUTDOWN_TIMEOUT_MS = 20_000;

async function main(): Promise<void> {
  let config: OperatorConfig;
  try {
    config = operatorConfigFromEnv();
  } catch (error) {
    if (!(error instanceof OperatorConfigError)) throw error;
    process.stderr.write(`${OPERATOR_NAME}: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createOperatorLogger(config.logLevel);

  const kubeConfig = new KubeConfig();
  // In a pod: the service account; elsewhere KUBECONFIG or ~/.kube/config.
  kubeConfig.loadFromDefault();
  const server = kubeConfig.getCurrentCluster()?.server;

  const connection = new RabbitMqConnection({ url: config.rabbitmqUrl, connectionName: OPERATOR_NAME, logger });
  // Not awaited: a broker that is down at start-up is reported on every subscription, it does not block the operator.
  void connection.start().catch(() => undefined);

  const operator = new TopologyOperator({ kubeConfig, broker: connectionChannels(connection), config, logger });
  const http = new OperatorHttpServer({
    port: config.port,
    registry: operator.metrics.registry,
    readiness: () => operator.readiness(),
  });

  // Handlers first: a SIGTERM during start-up (a quick rollout) still stops cleanly.
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: reconciling stops, the lease is released');
    const forced = setTimeout(() => {
      logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    forced.unref();
    await operator.stop();
    await connection.close();
    await http.close();
    logger.info({}, 'stopped');
    clearTimeout(forced);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, (received) => {
      shutdown(received).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ error: errorMessage(error) }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }

  const port = await http.listen();
  await operator.start();
  logger.info(
    {
      port,
      apiServer: server,
      watchNamespace: config.watchNamespace ?? '(all)',
      lease: `${config.podNamespace}/${config.leaseName}`,
      identity: config.podName,
    },
    'topology operator started',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${OPERATOR_NAME}: failed to start: ${errorMessage(error)}\n`);
  process.exit(1);
});
