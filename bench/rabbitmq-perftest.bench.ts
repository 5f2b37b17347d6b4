// Third baseline: RabbitMQ's own PerfTest, with the durability every other bench here uses (persistent 1 KiB
// messages, confirms in a window of 256, one durable quorum queue, manual acks, prefetch 20). It is the broker
// team's tool in Java, so its peak marks what this broker can do on this machine; our transport and NestJS's are
// read against it. Peak: the producer unthrottled until the consumer has taken every message (the queue may build
// a backlog, which PerfTest cannot bound as our closed-loop driver does); then paced runs at 25/50/90% of that
// peak for latency. Writes results/rabbitmq-perftest.json.
import { randomUUID } from 'node:crypto';
import { PAYLOAD_BYTES } from './lib/bench-event.js';
import { benchEnvironment } from './lib/bench-environment.js';
import { printScenarios, type ScenarioResult, writeResults } from './lib/bench-results.js';
import { defaultLoadPlan, type PhaseResult } from './lib/load-driver.js';
import { perfTestClasspath, type PerfTestOutcome, PERFTEST_VERSION, runPerfTest } from './lib/perftest.js';
import { measureResources } from './lib/resource-usage.js';

const SHAPE = { payloadBytes: PAYLOAD_BYTES, confirmWindow: 256, prefetch: 20 };

const classpath = perfTestClasspath();
const env = await benchEnvironment('perftest', false);
const plan = defaultLoadPlan();
try {
  const run = async (phase: string, messages: number, rate?: number): Promise<PhaseResult> => {
    const resources = measureResources();
    const outcome = await runPerfTest(
      classpath,
      // A fresh queue per phase: a leftover backlog must not be counted as the next phase's deliveries.
      { messages, rate, queue: `perftest.${randomUUID()}`, uri: env.vhost.url, deadlineSeconds: 120 },
      SHAPE,
    );
    const usage = resources.stop();
    return toPhase(phase, rate ?? null, messages, outcome, usage);
  };
  // About as many messages as our peak runs move (6 s at several thousand per second).
  const peak = await run('peak', Math.round(40_000 * (plan.peakSeconds / 6)));
  const phases = [peak];
  for (const share of plan.pacedShares) {
    const rate = Math.max(1, Math.round(peak.eventsPerSecond * share));
    phases.push(await run(`${Math.round(share * 100)}%`, Math.max(200, Math.round(rate * plan.pacedSeconds)), rate));
  }
  const scenarios: ScenarioResult[] = [
    {
      key: 'rabbitmq-perftest',
      title: `RabbitMQ PerfTest ${PERFTEST_VERSION} (Java): the broker team's own client`,
      settings: { queue: 'quorum', confirmWindow: SHAPE.confirmWindow, prefetch: SHAPE.prefetch, persistent: true },
      phases,
    },
  ];
  printScenarios('RabbitMQ PerfTest: producer → quorum queue → consumer, one of each', scenarios);
  console.log(
    `results written to ${writeResults('rabbitmq-perftest', { bench: 'rabbitmq-perftest', machine: env.machine, tracing: false, results: scenarios })}`,
  );
} finally {
  await env.dispose();
}

/**
 * PerfTest's figures in our result shape. It stops only when the producer sent and the consumer received every
 * message (else the run fails above), so nothing was lost; it does not report duplicates, counted here as 0.
 * Its latency summary has no maximum: left NaN.
 */
function toPhase(
  phase: string,
  rate: number | null,
  messages: number,
  outcome: PerfTestOutcome,
  usage: ReturnType<ReturnType<typeof measureResources>['stop']>,
): PhaseResult {
  if (!outcome.stopReason.includes('Consumer reached message limit')) {
    throw new Error(`PerfTest ${phase}: the consumer did not receive all ${messages} messages (${outcome.stopReason})`);
  }
  return {
    phase,
    targetRate: rate,
    eventsPerSecond: outcome.receiveRate,
    seconds: Math.round((messages / outcome.receiveRate) * 10) / 10,
    latency: {
      samples: messages,
      p50Ms: outcome.latencyMs.p50,
      p95Ms: outcome.latencyMs.p95,
      p99Ms: outcome.latencyMs.p99,
      maxMs: Number.NaN,
    },
    account: { sent: messages, delivered: messages, lost: 0, duplicates: 0, unexpected: 0 },
    // The client is the java process, not this one: its CPU and RSS go where the other benches put their Node process's.
    resources: { ...usage, processCpuPercent: outcome.cpuPercent, peakRssMb: outcome.peakRssMb },
  };
}
