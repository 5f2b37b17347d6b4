import { randomUUID } from 'node:crypto';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { LevelWithSilent } from 'pino';

/** Header a caller (or an ingress) may set to name its request; echoed back on every response. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Request ids we accept from outside: short, printable, no spaces; anything else is replaced. */
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Fields that must never reach a log line, wherever they appear. Bodies are not logged at all;
 * this is the second line of defence for errors and objects that get logged by hand.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'password',
  'passwordHash',
  '*.password',
  '*.passwordHash',
  'err.config.password',
];

export interface LoggerConfig {
  /** Name of the service, on every line as `service`. */
  service: string;
  /** Pino level; `silent` turns logging off (tests). */
  level: LevelWithSilent;
}

/** nestjs-pino options: JSON lines with a request id, credentials redacted, health probes not logged per hit. */
export function loggerOptions(config: LoggerConfig): Params {
  return {
    pinoHttp: {
      level: config.level,
      base: { service: config.service },
      mixin: traceFields,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const incoming = req.headers[REQUEST_ID_HEADER];
        const id = typeof incoming === 'string' && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader(REQUEST_ID_HEADER, id);
        return id;
      },
      customLogLevel: (_req, res, err) => {
        if (err || res.statusCode >= 500) return 'error';
        if (res.statusCode >= 400) return 'warn';
        return 'info';
      },
      // Kubernetes probes and Prometheus scrapes hit these every few seconds; logging each would drown the useful lines.
      autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health/') || req.url === '/metrics' },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}

/**
 * `trace_id` and `span_id` of the active span on every line logged inside one, so logs and traces join. Nothing
 * when tracing is off or no span is active.
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
