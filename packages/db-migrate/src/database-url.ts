/**
 * Helpers for PostgreSQL connection URLs (`postgresql://user:password@host:5432/database?sslmode=...`).
 * Only the database name is ever changed; everything else (credentials, host, query options) is kept,
 * so maintenance and scratch connections use the same server settings as the real one.
 */

const UNPARSEABLE = '[unparseable database url]';

/** Names the database a URL points at; throws when the URL has none (the server would silently use the user name). */
export function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(parse(databaseUrl).pathname.replace(/^\//, ''));
  if (!name) throw new Error(`The database URL ${maskDatabaseUrl(databaseUrl)} names no database`);
  return name;
}

/** The same URL pointing at another database on the same server. */
export function withDatabaseName(databaseUrl: string, name: string): string {
  const url = parse(databaseUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** The URL with its password replaced by `***`, for anything printed or logged. Unparseable input is hidden whole. */
export function maskDatabaseUrl(databaseUrl: string): string {
  // Without `scheme://`, `user:secret@host/db` parses as scheme `user` and a path holding the secret.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(databaseUrl)) return UNPARSEABLE;
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return UNPARSEABLE;
  }
}

function parse(databaseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    // Never echo the input: it may hold a password.
    throw new Error('The database URL cannot be parsed (expected postgresql://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new Error(`The database URL ${maskDatabaseUrl(databaseUrl)} is not a postgresql:// URL`);
  }
  return url;
}
