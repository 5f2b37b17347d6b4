/**
 * The logging this package needs: pino's `(fields, message)` shape, so a pino logger (or nestjs-pino's
 * `PinoLogger`) can be passed as is. Fields never hold credentials: URLs go through `maskUrl` first.
 */
export interface MessagingLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Default logger: says nothing. Libraries stay quiet unless the application hands them its logger. */
export const silentLogger: MessagingLogger = Object.freeze({
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
});

/** `amqp://user:secret@host/vhost` → `amqp://user:***@host/vhost`; anything unparseable is not echoed at all. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** Error fields for a log line: class, message and AMQP reply code, never the stack of a handled error. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { errorClass: error.name, error: error.message, ...(code !== undefined ? { code } : {}) };
  }
  return { error: String(error) };
}
