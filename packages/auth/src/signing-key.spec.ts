import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { SigningKeyError, signingKeyFromPem } from './signing-key.js';

const pem = (type: 'ec' | 'rsa' | 'ed25519', format: 'pkcs8' | 'sec1' = 'pkcs8', namedCurve = 'P-256'): string => {
  const { privateKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  return privateKey.export({ type: format, format: 'pem' }) as string;
};

describe('signingKeyFromPem', () => {
  it.each(['pkcs8', 'sec1'] as const)(
    'reads a P-256 key in %s PEM and names it by its RFC 7638 thumbprint',
    async (format) => {
      const key = await signingKeyFromPem(pem('ec', format));
      expect(key.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: key.kid });
      expect(key.publicJwk).not.toHaveProperty('d');
      const { kty, crv, x, y } = key.publicJwk;
      expect(key.kid).toBe(await calculateJwkThumbprint({ kty, crv, x, y }, 'sha256'));
    },
  );

  it('gives the same key the same kid, and another key another', async () => {
    const text = pem('ec');
    expect((await signingKeyFromPem(text)).kid).toBe((await signingKeyFromPem(text)).kid);
    expect((await signingKeyFromPem(pem('ec'))).kid).not.toBe((await signingKeyFromPem(text)).kid);
  });

  it.each([
    ['an RSA key', () => pem('rsa'), 'is a rsa key; ES256 needs an EC key on P-256'],
    ['an Ed25519 key', () => pem('ed25519'), 'is a ed25519 key; ES256 needs an EC key on P-256'],
    ['a P-384 key', () => pem('ec', 'pkcs8', 'P-384'), 'is an EC key on secp384r1; ES256 needs an EC key on P-256'],
    ['text that is no PEM', () => 'hello', 'is not a PEM private key'],
    [
      'a public key',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string,
      'is not a PEM private key',
    ],
  ])('refuses %s with an error naming the source, never its bytes', async (_case, make, message) => {
    const text = make();
    const error = await signingKeyFromPem(text, '/keys/k.pem').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SigningKeyError);
    expect((error as Error).message).toContain(`/keys/k.pem ${message}`);
    if (text.length > 60) expect((error as Error).message).not.toContain(text.slice(30, 60));
  });
});
