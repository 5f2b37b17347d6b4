import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, startTestTokenIssuer, type TestTokenIssuer } from '@switchyard/testing';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  InvalidTokenError,
  localKeysVerifier,
  remoteJwksVerifier,
  TokenKeysUnavailableError,
} from './token-verifier.js';
import { TOKEN_ISSUER } from './token-issuer.js';

const userId = randomUUID();

describe('remoteJwksVerifier over a real JWKS endpoint', () => {
  let issuer: TestTokenIssuer;

  beforeAll(async () => {
    issuer = await startTestTokenIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('verifies a token, caches the key set, and fetches it again only for an unknown kid', async () => {
    const verifier = remoteJwksVerifier(issuer.jwksUrl, { timeoutMs: 2_000, cooldownMs: 0 });
    const before = issuer.fetches;
    expect(await verifier.verify(await issuer.token(userId))).toEqual({ userId, roles: ['user'] });
    expect(await verifier.verify(await issuer.token(userId, ['admin']))).toEqual({ userId, roles: ['admin'] });
    expect(issuer.fetches).toBe(before + 1);

    const oldToken = await issuer.token(userId);
    await issuer.rotate();
    // The previous key's token needs no fetch (its kid is cached); the new key's kid is unknown: one re-fetch.
    expect(await verifier.verify(oldToken)).toEqual({ userId, roles: ['user'] });
    expect(issuer.fetches).toBe(before + 1);
    expect(await verifier.verify(await issuer.token(userId))).toEqual({ userId, roles: ['user'] });
    expect(issuer.fetches).toBe(before + 2);
    // And after the re-fetch, the previous key (still published) verifies too.
    expect(await verifier.verify(oldToken)).toEqual({ userId, roles: ['user'] });
  });

  it('does not fetch again within the cooldown: a flood of made-up kids costs one request at most', async () => {
    const verifier = remoteJwksVerifier(issuer.jwksUrl, { timeoutMs: 2_000, cooldownMs: 60_000 });
    await verifier.verify(await issuer.token(userId));
    const before = issuer.fetches;
    await issuer.rotate();
    const unknownKid = await issuer.token(userId);
    for (let i = 0; i < 5; i += 1) await expect(verifier.verify(unknownKid)).rejects.toBeInstanceOf(InvalidTokenError);
    expect(issuer.fetches).toBe(before);
  });
});

describe('remoteJwksVerifier when the JWKS cannot be had', () => {
  let silent: Server;

  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('gives up after the timeout with TokenKeysUnavailableError, not a verdict on the token', async () => {
    const issuer = await startTestTokenIssuer();
    const token = await issuer.token(userId);
    await issuer.close();
    const { port } = silent.address() as AddressInfo;
    const verifier = remoteJwksVerifier(`http://127.0.0.1:${port}/jwks.json`, { timeoutMs: 300, cooldownMs: 0 });
    const startedAt = Date.now();
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(TokenKeysUnavailableError);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it('answers a refused connection with TokenKeysUnavailableError', async () => {
    const issuer = await startTestTokenIssuer();
    const token = await issuer.token(userId);
    await issuer.close();
    const verifier = remoteJwksVerifier(`http://127.0.0.1:${await freePort()}/jwks.json`, {
      timeoutMs: 1_000,
      cooldownMs: 0,
    });
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(TokenKeysUnavailableError);
  });
});

describe('localKeysVerifier', () => {
  it('refuses a correctly signed token without roles, with a bad sub, or from another issuer', async () => {
    const issuer = await startTestTokenIssuer();
    await issuer.close();
    const verifier = localKeysVerifier({ keys: [issuer.current.publicJwk] });
    const sign = (claims: Record<string, unknown>, iss = TOKEN_ISSUER) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: issuer.current.kid })
        .setIssuer(iss)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(issuer.current.privateKey);
    await expect(verifier.verify(await sign({ sub: userId }))).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(verifier.verify(await sign({ sub: userId, roles: ['root'] }))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    await expect(verifier.verify(await sign({ sub: 'admin', roles: ['user'] }))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    await expect(verifier.verify(await sign({ sub: userId, roles: ['user'] }, 'someone-else'))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    expect(await verifier.verify(await sign({ sub: userId, roles: ['user'] }))).toEqual({ userId, roles: ['user'] });
  });
});
