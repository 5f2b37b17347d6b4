/** What the checks need of a test client's response (supertest's `Response` fits). */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** The error body every Switchyard service answers with (`@switchyard/service-kit`'s `ErrorBody`). */
export interface ProblemBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Array<{ field: string; message: string }>;
}

/**
 * Describes why `answer` is not an acceptable answer to hostile input, or returns undefined when it is: never a
 * 5xx, and every 4xx a JSON error body whose message says more than the status text, every 400 with details
 * naming each field (or `body`, `path`, a parameter) at fault.
 * Returns a description rather than throwing so a property can print the request beside it.
 */
export function problemWithAnswer(answer: HttpAnswer, method = 'GET'): string | undefined {
  if (answer.status >= 500) return `server error ${answer.status}: ${JSON.stringify(answer.body)}`;
  if (answer.status < 400 || method === 'HEAD') return undefined;
  const contentType = String(answer.headers['content-type'] ?? '');
  if (!contentType.startsWith('application/json'))
    return `a ${answer.status} answered with content type '${contentType}' instead of JSON`;
  const body = answer.body as Partial<ProblemBody> | undefined;
  if (!body || typeof body !== 'object') return `a ${answer.status} without a JSON object body`;
  if (body.statusCode !== answer.status)
    return `body.statusCode ${String(body.statusCode)} differs from the status ${answer.status}`;
  if (typeof body.error !== 'string' || body.error === '') return 'the error body has no error name';
  if (typeof body.message !== 'string' || body.message.trim() === '') return 'the error body has no message';
  // "Bad Request" alone names nothing: the message must say more than the status line does.
  if (body.message.trim().toLowerCase() === body.error.toLowerCase())
    return `the message only repeats the status text '${body.error}'`;
  if (answer.status === 400 && body.details === undefined)
    return `a 400 without details naming the fields at fault (message: ${body.message})`;
  if (body.details !== undefined) {
    if (!Array.isArray(body.details) || body.details.length === 0) return 'details is present but not a non-empty list';
    for (const detail of body.details) {
      if (
        typeof detail?.field !== 'string' ||
        detail.field === '' ||
        typeof detail.message !== 'string' ||
        detail.message === ''
      ) {
        return `a detail does not name its field and problem: ${JSON.stringify(detail)}`;
      }
    }
  }
  return undefined;
}

/** Fields named by a 400's details (empty when there are none). */
export function problemFields(answer: HttpAnswer): string[] {
  const details = (answer.body as Partial<ProblemBody> | undefined)?.details;
  return Array.isArray(details) ? details.map((detail) => detail.field) : [];
}
