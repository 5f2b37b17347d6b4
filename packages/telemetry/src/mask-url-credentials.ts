/**
 * Hides the password of a connection URL (`postgresql://app:***@db:5432/users`) so it can be logged,
 * put on a span or shown in an error. Unparseable input is replaced whole: it may still hold a secret.
 */
export function maskUrlCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
