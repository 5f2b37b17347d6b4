/**
 * Preload: `node --import @switchyard/telemetry/register dist/main.js`. Starts tracing before Nest, Express and pg
 * are imported, so their instrumentation can patch them. Without an OTLP endpoint it returns at once and loads
 * nothing from OpenTelemetry. It never stops the service from starting: a broken tracing set-up is one line on
 * stderr and the service runs untraced.
 */
import { startTracing } from './start-tracing.js';
import { tracingConfigFromEnv } from './tracing-config.js';

/** Longest the last export may delay the exit of a stopping service. */
const FINAL_FLUSH_MS = 2_000;

try {
  const config = tracingConfigFromEnv();
  if (config.enabled) {
    const tracing = await startTracing(config.resourceAttributes);
    // The services exit by letting the event loop drain (exitCode, no process.exit): flush the last spans then,
    // but never hold up the exit for an unreachable collector; process.exit() keeps the service's exit code.
    process.once('beforeExit', () => {
      const deadline = setTimeout(() => process.exit(), FINAL_FLUSH_MS);
      void tracing.shutdown().finally(() => clearTimeout(deadline));
    });
  }
} catch (error) {
  process.stderr.write(
    `${JSON.stringify({ level: 40, msg: 'tracing disabled: could not start OpenTelemetry', error: error instanceof Error ? error.message : String(error) })}\n`,
  );
}
