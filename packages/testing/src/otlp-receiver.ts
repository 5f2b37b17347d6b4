import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export type ReceivedSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface ReceivedLink {
  traceId: string;
  spanId: string;
  attributes: Record<string, unknown>;
}

/** One span as an OTLP exporter sent it, flattened: ids in lowercase hex, attribute values unwrapped. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  kind: ReceivedSpanKind;
  attributes: Record<string, unknown>;
  links: ReceivedLink[];
  /** `service.name` of the resource that sent it. */
  serviceName: string | undefined;
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** Base URL to put in `OTEL_EXPORTER_OTLP_ENDPOINT`; spans arrive at `<endpoint>/v1/traces`. */
  endpoint: string;
  /** Every span received so far. */
  spans(): ReceivedSpan[];
  /** Raw request bodies that could not be read as OTLP/JSON (a wrong content type or shape shows up here). */
  rejected(): string[];
  close(): Promise<void>;
}

const KINDS: readonly ReceivedSpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

/**
 * A minimal OTLP/HTTP trace receiver for tests: `POST /v1/traces` with JSON bodies
 * (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), on 127.0.0.1 and a port the OS picks. Protobuf is answered 415,
 * which keeps it free of dependencies.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const server = createServer((request, response) => {
    void receive(request, response, spans, rejected);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    rejected: () => [...rejected],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function receive(
  request: IncomingMessage,
  response: ServerResponse,
  spans: ReceivedSpan[],
  rejected: string[],
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  if (request.method !== 'POST' || request.url !== '/v1/traces') {
    response.writeHead(404).end();
    return;
  }
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
    rejected.push(`content-type ${request.headers['content-type']}`);
    response
      .writeHead(415, { 'content-type': 'application/json' })
      .end(JSON.stringify({ message: 'only OTLP/JSON is supported' }));
    return;
  }
  try {
    spans.push(...parseTraces(JSON.parse(body)));
  } catch {
    rejected.push(body);
    response
      .writeHead(400, { 'content-type': 'application/json' })
      .end(JSON.stringify({ message: 'not an OTLP/JSON trace request' }));
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  links?: Array<{ traceId: string; spanId: string; attributes?: OtlpKeyValue[] }>;
}
interface OtlpTraceRequest {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

function parseTraces(request: OtlpTraceRequest): ReceivedSpan[] {
  if (!Array.isArray(request.resourceSpans)) throw new TypeError('resourceSpans missing');
  const received: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined;
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        received.push({
          traceId: hexId(span.traceId),
          spanId: hexId(span.spanId),
          parentSpanId: span.parentSpanId ? hexId(span.parentSpanId) : undefined,
          name: span.name,
          kind: KINDS[span.kind ?? 0] ?? 'unspecified',
          attributes: attributesOf(span.attributes),
          links: (span.links ?? []).map((link) => ({
            traceId: hexId(link.traceId),
            spanId: hexId(link.spanId),
            attributes: attributesOf(link.attributes),
          })),
          serviceName,
          resource,
        });
      }
    }
  }
  return received;
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) attributes[key] = valueOf(value);
  return attributes;
}

function valueOf(value: OtlpAnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.kvlistValue !== undefined) return attributesOf(value.kvlistValue.values);
  if (value.bytesValue !== undefined) return value.bytesValue;
  return undefined;
}

/** OTLP/JSON carries ids as hex; some encoders send base64, which is normalised to hex here. */
function hexId(id: string): string {
  if (/^[0-9a-fA-F]+$/.test(id) && (id.length === 32 || id.length === 16)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}
