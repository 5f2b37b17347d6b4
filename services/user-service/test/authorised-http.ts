import request from 'supertest';

type Agent = ReturnType<typeof request>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head'] as const;

/** The admin every test app knows (`ADMIN_EMAILS`); sign it up with `signUp` to get its token. */
export const TEST_ADMIN_EMAIL = 'admin@switchyard.test';

/**
 * A supertest agent that sends, with each request, the token `tokenFor(path)` picks (none when it returns
 * undefined). Tests written before authentication keep reading as they did; the tokens say who acts.
 */
export function authorisedHttp(server: unknown, tokenFor: (path: string) => string | undefined): Agent {
  const http = request(server as Parameters<typeof request>[0]);
  const wrapped = {} as Record<(typeof METHODS)[number], (path: string) => request.Test>;
  for (const method of METHODS) {
    wrapped[method] = (path: string) => {
      const test = http[method](path);
      const token = tokenFor(path);
      return token === undefined ? test : test.set('Authorization', `Bearer ${token}`);
    };
  }
  return wrapped as unknown as Agent;
}

/** Signs a user up and logs in; the body of `POST /users` and the token. */
export async function signUp<T extends { id: string }>(
  http: Agent,
  body: { email: string; name: string; password: string } & Record<string, unknown>,
): Promise<{ user: T; token: string }> {
  const user = (await http.post('/users').send(body).expect(201)).body as T;
  const token = (await http.post('/auth/token').send({ email: body.email, password: body.password }).expect(200)).body
    .access_token as string;
  return { user, token };
}

/** The id in `/users/<id>…`, if any. */
export const userIdInPath = (path: string): string | undefined => /^\/users\/([^/?]+)/.exec(path)?.[1];
