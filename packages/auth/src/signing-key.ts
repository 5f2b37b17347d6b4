import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '@switchyard/service-kit';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/** The only algorithm we sign and accept: ECDSA P-256 with SHA-256. */
export const TOKEN_ALGORITHM = 'ES256';

/** A private key that signs tokens, with the public half as the JWKS publishes it. */
export interface SigningKey {
  privateKey: KeyObject;
  /** RFC 7638 thumbprint of the public key: stable for a key, different for every other. */
  kid: string;
  /** The public key as a JWK (`kty`, `crv`, `x`, `y`, `kid`, `alg`, `use`). */
  publicJwk: JWK;
}

/**
 * A key file that cannot be used; the message names the file and what is wrong, never the key's bytes. A
 * configuration error, so a service stops with that one line (`startMain`).
 */
export class SigningKeyError extends ConfigError {}

/**
 * Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`, what Helm's
 * `genPrivateKey "ecdsa"` makes). It must be an EC key on P-256, the curve ES256 is defined on.
 */
export async function loadSigningKey(path: string): Promise<SigningKey> {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SigningKeyError(
      `cannot read signing key file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  return signingKeyFromPem(pem, path);
}

export async function signingKeyFromPem(pem: string, source = 'the signing key'): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SigningKeyError(`${source} is not a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY")`);
  }
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (privateKey.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const found =
      privateKey.asymmetricKeyType === 'ec' ? `an EC key on ${curve}` : `a ${privateKey.asymmetricKeyType} key`;
    throw new SigningKeyError(`${source} is ${found}; ES256 needs an EC key on P-256 (prime256v1)`);
  }
  const { kty, crv, x, y } = await exportJWK(createPublicKey(privateKey));
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK, 'sha256');
  return { privateKey, kid, publicJwk: { kty, crv, x, y, kid, alg: TOKEN_ALGORITHM, use: 'sig' } as JWK };
}
