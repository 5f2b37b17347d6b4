import { loadSigningKey, type SigningKey, TokenIssuer } from '@switchyard/auth';
import { createPublicKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { writeTestSigningKey } from './test-signing-key.js';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Every way a token can be wrong that issue 13 names, built from a key the service under test trusts: each must be
 * answered with 401, `WWW-Authenticate: Bearer error="invalid_token"` and a JSON body. `undefined` means no
 * Authorization header at all (then the bare `Bearer` challenge is enough).
 */
export async function tamperedTokens(trusted: SigningKey, userId: string): Promise<Record<string, string | undefined>> {
  const valid = (await new TokenIssuer(trusted, undefined, 900).issue({ userId, roles: ['admin'] })).access_token;
  const [header = '', payload = '', signature = ''] = valid.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;

  const expired = (
    await new TokenIssuer(trusted, undefined, 60).issue({ userId, roles: ['admin'] }, new Date(Date.now() - 3_600_000))
  ).access_token;

  // The signature's middle bit flipped: same header and claims, no longer what the key signed.
  const bytes = Buffer.from(signature, 'base64url');
  bytes[bytes.length >> 1]! ^= 0x01;
  const flipped = `${header}.${payload}.${bytes.toString('base64url')}`;

  const none = `${b64url({ alg: 'none', typ: 'JWT', kid: trusted.kid })}.${payload}.`;

  // The classic confusion: HMAC keyed with the verifier's public key, which anyone can fetch from the JWKS.
  const publicPem = createPublicKey(trusted.privateKey).export({ type: 'spki', format: 'pem' });
  const hs256 = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: trusted.kid })
    .sign(new Uint8Array(Buffer.from(publicPem)));

  const stranger = await loadSigningKey(writeTestSigningKey());
  const unknownKid = (await new TokenIssuer(stranger, undefined, 900).issue({ userId, roles: ['admin'] })).access_token;
  // A stranger's signature under the trusted key's kid.
  const strangerSignature = unknownKid.split('.')[2];
  const wrongKey = `${header}.${payload}.${strangerSignature}`;

  return {
    missing: undefined,
    empty: '',
    malformed: 'not-a-jwt',
    'three garbage parts': 'abc.def.ghi',
    expired,
    'alg none': none,
    'unknown kid': unknownKid,
    'flipped signature bit': flipped,
    'signed by another key under a trusted kid': wrongKey,
    'HS256 signed with the public key': hs256,
    'claims changed after signing': `${header}.${b64url({ ...claims, sub: '00000000-0000-7000-8000-000000000000' })}.${signature}`,
  };
}
