import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@switchyard/testing';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { signUp, TEST_ADMIN_EMAIL } from './authorised-http.js';
import { startUserServiceApp } from './user-service-app.js';

/**
 * Who may call what, property-based over every route: any caller (nobody, a bad token, either of two users, an
 * admin) on any route against any target (either user, one that does not exist). The answer is decided here,
 * independently of the service; and never does a response carry another user's data.
 */

const RUNS = 80;
const password = 'correct horse battery staple';

type Account = { id: string; email: string; name: string; token: string };

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;
let http: ReturnType<typeof request>;
let alice: Account;
let bob: Account;
let admin: Account;

async function account(email: string, name: string): Promise<Account> {
  const { user, token } = await signUp<{ id: string }>(http, { email, name, password });
  return { id: user.id, email, name, token };
}

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('users_authz', SCHEMA_PATH), createTestVhost('users_authz')]);
  app = await startUserServiceApp(db.url, vhost.identityUrl('user-service'), { ADMIN_EMAILS: TEST_ADMIN_EMAIL });
  http = request(app.getHttpServer());
  alice = await account(`alice.${randomUUID()}@example.com`, 'Alice');
  bob = await account(`bob.${randomUUID()}@example.com`, 'Bob');
  admin = await account(TEST_ADMIN_EMAIL, 'Admin');
});

afterAll(async () => {
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

type Caller = 'nobody' | 'garbage' | 'alice' | 'bob' | 'admin';
type Route = 'list' | 'get' | 'patch' | 'delete';

const callers: Record<Exclude<Caller, 'nobody' | 'garbage'>, () => Account> = {
  alice: () => alice,
  bob: () => bob,
  admin: () => admin,
};

/** What the service must answer, from the rules in the README's Security section. */
function expectedStatus(route: Route, caller: Caller, target: Account | undefined): number {
  if (caller === 'nobody' || caller === 'garbage') return 401;
  const me = callers[caller]();
  const isAdmin = caller === 'admin';
  if (route === 'list') return isAdmin ? 200 : 403;
  const self = target !== undefined && target.id === me.id;
  if (route === 'get') return self || isAdmin ? (target ? 200 : 404) : 403;
  // Changing and deleting: only oneself (the generator never lets a user delete itself here).
  return self ? 200 : 403;
}

describe('every user-service route, any caller, any target', () => {
  it('answers 401, 403 or 404 exactly where the rules say, and never shows another user’s data', async () => {
    const caller = fc.constantFrom<Caller>('nobody', 'garbage', 'alice', 'bob', 'admin');
    const target = fc.constantFrom<'alice' | 'bob' | 'admin' | 'ghost'>('alice', 'bob', 'admin', 'ghost');
    const route = fc.constantFrom<Route>('list', 'get', 'patch', 'delete');
    await fc.assert(
      fc.asyncProperty(route, caller, target, fc.string({ maxLength: 12 }), async (r, who, whom, suffix) => {
        const targetAccount = whom === 'ghost' ? undefined : callers[whom]();
        const id = targetAccount?.id ?? randomUUID();
        // A user deleting itself would end the run: that case is covered in users.e2e-spec.ts.
        fc.pre(!(r === 'delete' && who !== 'nobody' && who !== 'garbage' && targetAccount?.id === callers[who]().id));
        const path = r === 'list' ? '/users' : `/users/${id}`;
        let req =
          r === 'list' || r === 'get'
            ? http.get(path)
            : r === 'patch'
              ? http.patch(path).send({ name: `Renamed ${suffix}`.trim() })
              : http.delete(path);
        if (who === 'garbage') req = req.set('Authorization', 'Bearer eyJhbGciOiJub25lIn0.e30.');
        else if (who !== 'nobody') req = req.set('Authorization', `Bearer ${callers[who]().token}`);
        const response = await req;

        const expected = expectedStatus(r, who, targetAccount);
        expect({ route: r, who, whom, status: response.status }).toEqual({ route: r, who, whom, status: expected });
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        if (expected === 401) expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
        // Never another user's data: a non-admin sees only itself; nobody sees anything without a token.
        const text = JSON.stringify(response.body);
        for (const other of [alice, bob, admin]) {
          const maySee = who === 'admin' || (who !== 'nobody' && who !== 'garbage' && callers[who]().id === other.id);
          if (!maySee) expect(text).not.toContain(other.email);
        }
      }),
      { numRuns: RUNS },
    );
    // Nothing another user did changed anyone: each still reads itself with its own email.
    for (const someone of [alice, bob, admin]) {
      const self = await http.get(`/users/${someone.id}`).set('Authorization', `Bearer ${someone.token}`).expect(200);
      expect(self.body.email).toBe(someone.email);
    }
  }, 120_000);

  it('serves sign-up, login, the JWKS and the probes without a token', async () => {
    await http
      .post('/users')
      .send({ email: `open.${randomUUID()}@example.com`, name: 'Open', password })
      .expect(201);
    await http.post('/auth/token').send({ email: alice.email, password }).expect(200);
    await http.get('/.well-known/jwks.json').expect(200);
    for (const probe of ['live', 'ready', 'startup']) await http.get(`/health/${probe}`).expect(200);
  });
});
