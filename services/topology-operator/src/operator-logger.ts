import { REDACTED_PATHS } from '@switchyard/telemetry';
import { pino, type Logger } from 'pino';
import { OPERATOR_NAME } from './api/v1alpha1/index.js';
import type { LogLevel } from './config/operator-config.js';

export type OperatorLogger = Logger;

/** JSON lines like the services' (pino, `service` on every line, credentials redacted), without Nest's HTTP layer. */
export function createOperatorLogger(level: LogLevel): OperatorLogger {
  return pino({ level, base: { service: OPERATOR_NAME }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

/** For tests and libraries: says nothing. */
export function silentOperatorLogger(): OperatorLogger {
  return pino({ level: 'silent' });
}
