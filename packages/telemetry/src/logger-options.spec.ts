import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { pino, type LoggerOptions } from 'pino';
import { Writable } from 'node:stream';
import { loggerOptions, traceFields } from './logger-options.js';

const SPAN_CONTEXT = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
const inSpan = <T>(fn: () => T): T => context.with(trace.setSpanContext(ROOT_CONTEXT, SPAN_CONTEXT), fn);

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterAll(() => {
  context.disable();
});

describe('trace ids on log lines', () => {
  it('adds nothing outside a span, or for an invalid span context', () => {
    expect(traceFields()).toEqual({});
    expect(
      context.with(trace.setSpanContext(ROOT_CONTEXT, { ...SPAN_CONTEXT, traceId: '0'.repeat(32) }), traceFields),
    ).toEqual({});
  });

  it('adds trace_id and span_id of the active span', () => {
    expect(inSpan(traceFields)).toEqual({ trace_id: SPAN_CONTEXT.traceId, span_id: SPAN_CONTEXT.spanId });
  });

  it('puts them on the lines the service logger writes', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const { pinoHttp } = loggerOptions({ service: 'test-service', level: 'info' }) as { pinoHttp: LoggerOptions };
    const logger = pino(pinoHttp, sink);
    logger.info('outside');
    inSpan(() => logger.info('inside'));
    const [outside, inside] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(outside).not.toHaveProperty('trace_id');
    expect(inside).toMatchObject({
      msg: 'inside',
      service: 'test-service',
      trace_id: SPAN_CONTEXT.traceId,
      span_id: SPAN_CONTEXT.spanId,
    });
  });
});
