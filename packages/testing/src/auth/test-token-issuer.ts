import { loadSigningKey, type Role, type SigningKey, TokenIssuer } from '@switchyard/auth';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeTestSigningKey } from './test-signing-key.js';

/**
 * user-service's token side without user-service: the real `TokenIssuer` with fresh keys, its JWKS served over
 * HTTP, for testing a service that only verifies tokens (order-service). Counts JWKS requests; can rotate its key.
 */
export interface TestTokenIssuer {
  /** `AUTH_JWKS_URL` for the service under test. */
  jwksUrl: string;
  /** JWKS requests served so far. */
  readonly fetches: number;
  /** The key that signs now. */
  readonly current: SigningKey;
  /** A signed token for `userId` (role `user` unless given). */
  token(userId: string, roles?: Role[], issuedAt?: Date): Promise<string>;
  /** `{ Authorization: 'Bearer …' }` for `userId`. */
  authorization(userId: string, roles?: Role[]): Promise<{ Authorization: string }>;
  /** A new key signs from now on; the old one stays in the JWKS as the previous key. */
  rotate(): Promise<void>;
  close(): Promise<void>;
}

const TTL_SECONDS = 900;

export async function startTestTokenIssuer(): Promise<TestTokenIssuer> {
  let current = await loadSigningKey(writeTestSigningKey());
  let issuer = new TokenIssuer(current, undefined, TTL_SECONDS);
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(issuer.jwks()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // A helper shared by a whole test file must not keep jest's worker alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  const token = async (userId: string, roles: Role[] = ['user'], issuedAt?: Date) =>
    (await issuer.issue({ userId, roles }, issuedAt)).access_token;
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return fetches;
    },
    get current() {
      return current;
    },
    token,
    authorization: async (userId, roles) => ({ Authorization: `Bearer ${await token(userId, roles)}` }),
    async rotate() {
      const previous = current;
      current = await loadSigningKey(writeTestSigningKey());
      issuer = new TokenIssuer(current, previous, TTL_SECONDS);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
