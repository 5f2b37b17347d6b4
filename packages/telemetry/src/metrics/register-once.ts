import type { Metric, Registry } from 'prom-client';

/**
 * The metric named `name` in `registry`, created by `create` the first time. prom-client throws when a name is
 * registered twice; with this, several instruments (or a re-created app) sharing a registry share the metric.
 */
export function registerOnce<T extends Metric>(
  registry: Registry,
  name: string,
  create: (registers: Registry[]) => T,
): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create([registry]);
}

/** Runs a metric update, swallowing whatever it throws: telemetry must never break a request or a message. */
export function safely(update: () => void): void {
  try {
    update();
  } catch {
    // A bad label value or a cleared registry is not worth failing the caller's work.
  }
}
