import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Each entry point's runtime exports, spelled out: growing a public API is a decision, taken here in review.
describe('public API', () => {
  it('@switchyard/messaging exports what a service author uses, and nothing else', async () => {
    expect(Object.keys(await import('@switchyard/messaging')).sort()).toEqual([
      'ChannelClosedError',
      'ConnectionClosedError',
      'ConsumeEvent',
      'EventHandlerDeclarationError',
      'MESSAGING_DATABASE_CONNECTIONS',
      'MessagingError',
      'MessagingModule',
      'MessagingRuntime',
      'NonRetriableError',
      'PublishNackError',
      'PublishTimeoutError',
      'TopologyConflictError',
      'UnroutableMessageError',
      'addToOutbox',
      'messagingConfigShape',
    ]);
  });

  it('@switchyard/messaging/topology exports the plan, the policy and what declaring them takes', async () => {
    expect(Object.keys(await import('@switchyard/messaging/topology')).sort()).toEqual([
      'CONSUMER_POLICY_API_VERSION',
      'CONSUMER_POLICY_KIND',
      'DEFAULT_CONNECT_TIMEOUT_MS',
      'DEFAULT_DELIVERY_LIMIT',
      'DEFAULT_EXCHANGE',
      'DEFAULT_HEARTBEAT_SECONDS',
      'DEFAULT_PREFETCH',
      'DEFAULT_RECONNECT_INITIAL_DELAY_MS',
      'DEFAULT_RECONNECT_MAX_DELAY_MS',
      'DEFAULT_RETRY_DELAYS_MS',
      'InvalidConsumerPolicyError',
      'RabbitMqConnection',
      'TopologyConflictError',
      'WORK_QUEUE_TYPES',
      'consumerPolicyFileName',
      'consumerPolicySchema',
      'deadLetterQueueName',
      'declareTopology',
      'formatDelay',
      'onThrowawayChannel',
      'parseConsumerPolicy',
      'planConsumerTopology',
      'planExchange',
      'retryQueueName',
      'serializeConsumerPolicy',
      'topologyInputOf',
    ]);
  });

  it('@switchyard/messaging/dlq exports the dead-letter tools and their command line', async () => {
    expect(Object.keys(await import('@switchyard/messaging/dlq')).sort()).toEqual([
      'DEFAULT_LIST_LIMIT',
      'DEFAULT_RABBITMQ_URL',
      'EXIT_FAILURE',
      'EXIT_OK',
      'EXIT_USAGE',
      'discardDeadLetters',
      'listDeadLetters',
      'main',
      'purgeDeadLetters',
      'replayDeadLetters',
      'resolveDeadLetterQueue',
      'showDeadLetter',
      'summarizeDeadLetter',
    ]);
  });

  it('@switchyard/messaging/outbox-admin exports the parked-row tools and their command line', async () => {
    expect(Object.keys(await import('@switchyard/messaging/outbox-admin')).sort()).toEqual([
      'DEFAULT_PARKED_LIST_LIMIT',
      'OUTBOX_USAGE',
      'discardParkedRows',
      'listParkedRows',
      'outboxMain',
      'retryParkedRows',
    ]);
  });
});

const SRC = dirname(fileURLToPath(import.meta.url));
/** What the topology entry point must never pull in: the operator runs without Nest, Postgres or the service kit. */
const FORBIDDEN = [/^@nestjs\//, /^pg$/, /^nestjs-pino$/, /^@switchyard\/service-kit(\/|$)/];

/** Every `import … from '…'` / `export … from '…'` / `import '…'` specifier of a source file, type-only ones left out. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^'";]*?\bfrom\s+)?'([^']+)'/gm)) {
    if (match[2] === undefined) specifiers.push(match[4]!);
  }
  return specifiers;
}

/** The files reachable from `entry` through relative runtime imports, each with the packages it imports. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const packages: string[] = [];
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith('.')) {
        packages.push(specifier);
        continue;
      }
      const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
      if (!existsSync(target)) throw new Error(`${relative(SRC, file)} imports ${specifier}, which does not exist`);
      pending.push(target);
    }
    graph.set(file, packages);
  }
  return graph;
}

describe('@switchyard/messaging/topology', () => {
  it('reaches no Nest, pg, nestjs-pino or service-kit import', () => {
    const graph = importGraph(join(SRC, 'topology', 'index.ts'));
    const offending = [...graph].flatMap(([file, packages]) =>
      packages
        .filter((name) => FORBIDDEN.some((pattern) => pattern.test(name)))
        .map((name) => `${relative(SRC, file)} → ${name}`),
    );
    expect(offending).toEqual([]);
    // The walk itself works: it reaches the connection code through the entry point.
    expect([...graph.keys()].map((file) => relative(SRC, file))).toContain(
      join('connection', 'rabbitmq-connection.ts'),
    );
  });
});
