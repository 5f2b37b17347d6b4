import { performance } from 'node:perf_hooks';
import { type LatencySummary, summariseLatencies } from './latency-stats.js';
import { measureResources, type ResourceUsage } from './resource-usage.js';

export interface OperationRate {
  operation: string;
  variant: string;
  concurrency: number;
  /** Operations completed per second (an outbox claim counts its rows: see `unitsPerOperation`). */
  perSecond: number;
  latency: LatencySummary;
  resources: ResourceUsage;
  errors: number;
}

/**
 * Runs `operation` back to back on `concurrency` workers for `seconds` and reports the rate. `operation` returns
 * how many units it handled (1 for an insert, the rows claimed for a claim); 0 ends its worker early (nothing left).
 */
export async function measureOperation(
  operation: string,
  variant: string,
  concurrency: number,
  seconds: number,
  run: () => Promise<number>,
): Promise<OperationRate> {
  const latencies: number[] = [];
  let units = 0;
  let errors = 0;
  const resources = measureResources();
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const began = performance.now();
        try {
          const handled = await run();
          if (handled === 0) return;
          units += handled;
          latencies.push(performance.now() - began);
        } catch (error) {
          if (errors++ === 0)
            process.stderr.write(
              `bench: ${operation} (${variant}) failed: ${error instanceof Error ? error.message : String(error)}\n`,
            );
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return {
    operation,
    variant,
    concurrency,
    perSecond: Math.round(units / elapsed),
    latency: summariseLatencies(latencies),
    resources: resources.stop(),
    errors,
  };
}
