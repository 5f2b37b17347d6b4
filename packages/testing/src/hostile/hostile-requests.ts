import type request from 'supertest';
import { problemFields, problemWithAnswer } from './http-problem.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'OPTIONS' | 'HEAD';

/** One hostile request as a property generates it. */
export interface HostileRequest {
  method: HttpMethod;
  path: string;
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  body?: string | Buffer | object | undefined;
}

/** Sends `sent` exactly as given through a supertest agent: headers as set, a Buffer body as its bytes. */
export async function sendHostile(
  http: ReturnType<typeof request>,
  { method, path, contentType, contentEncoding, body }: HostileRequest,
): Promise<request.Response> {
  let req = http[method.toLowerCase() as 'get'](path);
  if (contentType !== undefined) req = req.set('Content-Type', contentType);
  if (contentEncoding !== undefined) req = req.set('Content-Encoding', contentEncoding);
  // superagent would serialise a Buffer as JSON (`{"type":"Buffer",…}`) under a JSON content type: send its bytes as they are.
  if (Buffer.isBuffer(body)) req = req.serialize((bytes: unknown) => bytes as string);
  if (body !== undefined) req = req.send(body as string);
  return req;
}

/** Fails with the request and the answer side by side when the answer is not acceptable for hostile input. */
export function expectAcceptable(sent: HostileRequest, answer: request.Response): void {
  const problem = problemWithAnswer(answer, sent.method);
  if (problem) throw new Error(`${sent.method} ${sent.path.slice(0, 300)} → ${problem}`);
}

/** JSON the server sees: what `send(object)` serialises (undefined dropped, -0 as 0, lone surrogates escaped). */
export const asSent = (body: unknown): unknown => JSON.parse(JSON.stringify(body));

/** A body over the limit is refused before anyone looks at it. */
export const isOverLimit = (body: unknown, limitBytes: number): boolean =>
  Buffer.byteLength(typeof body === 'string' ? body : JSON.stringify(body)) > limitBytes;

export const fieldsOf = (body: unknown): string[] =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body) : [];

/** Each field a 400 names is the body itself, or one of `candidates` (or a path inside one); at least one is named. */
export function expectFieldsAmong(answer: request.Response, candidates: string[]): void {
  const fields = problemFields(answer);
  if (fields.length === 0) throw new Error(`the ${answer.status} names no field: ${JSON.stringify(answer.body)}`);
  const names = ['body', ...candidates].map((c) => (c === '' ? '""' : c));
  for (const field of fields) {
    if (!names.some((c) => field === c || field.startsWith(`${c}.`)))
      throw new Error(`the 400 names '${field}', which was not sent or required`);
  }
}
