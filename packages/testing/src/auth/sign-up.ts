import { randomUUID } from 'node:crypto';

/** A user that exists in user-service, with a token for it. */
export interface SignedUpUser {
  id: string;
  email: string;
  password: string;
  token: string;
  /** Ready to spread into request headers. */
  headers: { Authorization: string };
}

/**
 * Signs a new user up at a running user-service (`POST /users`) and logs in (`POST /auth/token`). For flows across
 * real processes (e2e, faults, soak, CLI tests); `baseUrl` is user-service's, e.g. `http://127.0.0.1:3001`.
 */
export async function signUpAndGetToken(
  baseUrl: string,
  user: { email?: string; name?: string; password?: string } = {},
): Promise<SignedUpUser> {
  const email = user.email ?? `user.${randomUUID()}@example.com`;
  const password = user.password ?? `pw-${randomUUID()}`;
  const created = await postJson(`${baseUrl}/users`, { email, name: user.name ?? 'Test User', password }, 201);
  const issued = await postJson(`${baseUrl}/auth/token`, { email, password }, 200);
  const token = issued.access_token as string;
  return { id: created.id as string, email, password, token, headers: { Authorization: `Bearer ${token}` } };
}

/** Logs an existing user in; the token's roles follow user-service's ADMIN_EMAILS. */
export async function getToken(baseUrl: string, email: string, password: string): Promise<string> {
  return (await postJson(`${baseUrl}/auth/token`, { email, password }, 200)).access_token as string;
}

async function postJson(url: string, body: unknown, expected: number): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  if (response.status !== expected)
    throw new Error(`POST ${url} answered ${response.status}, not ${expected}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}
