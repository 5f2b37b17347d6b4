import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { z } from 'zod';
import { type Principal, ROLES } from './principal.js';
import { TOKEN_ALGORITHM } from './signing-key.js';
import { TOKEN_ISSUER } from './token-issuer.js';

/** The token is not one we accept (missing, malformed, expired, wrongly signed, unknown key…): 401. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

/** The keys to check the token against could not be had (the JWKS did not answer in time): 503, not the caller's fault. */
export class TokenKeysUnavailableError extends Error {
  override readonly name = 'TokenKeysUnavailableError';
}

/** Checks an access token and says who it speaks for. */
export interface AccessTokenVerifier {
  /** @throws InvalidTokenError or TokenKeysUnavailableError */
  verify(token: string): Promise<Principal>;
}

/** The claims we rely on, checked after the signature: a token we signed always has them. */
const accessClaims = z.object({
  sub: z.uuid(),
  roles: z.array(z.enum(ROLES)).min(1),
});

/** jose's codes for a token that is wrong in itself; anything else (timeouts, fetch failures) is about the key set. */
const INVALID_TOKEN_CODES = new Set([
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JWTInvalid.code,
  errors.JWSInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
  errors.JWKInvalid.code,
]);

class JwksTokenVerifier implements AccessTokenVerifier {
  constructor(private readonly keys: JWTVerifyGetKey) {}

  async verify(token: string): Promise<Principal> {
    let payload: unknown;
    try {
      // Only ES256: `alg: none` and HS256 signed with the public key as a secret fail here, whatever the header says.
      ({ payload } = await jwtVerify(token, this.keys, { algorithms: [TOKEN_ALGORITHM], issuer: TOKEN_ISSUER }));
    } catch (error) {
      if (error instanceof errors.JOSEError && INVALID_TOKEN_CODES.has(error.code))
        throw new InvalidTokenError(error.message, { cause: error });
      throw new TokenKeysUnavailableError('the token signing keys could not be fetched', { cause: error });
    }
    const claims = accessClaims.safeParse(payload);
    if (!claims.success) throw new InvalidTokenError('the token lacks a user id (sub) or roles');
    return { userId: claims.data.sub, roles: claims.data.roles };
  }
}

/** Verifies against keys held in memory: user-service checks the tokens it signed with its own current and previous key. */
export function localKeysVerifier(jwks: JSONWebKeySet): AccessTokenVerifier {
  return new JwksTokenVerifier(createLocalJWKSet(jwks));
}

export interface RemoteJwksOptions {
  /** Give up on one JWKS request after this long (then 503). */
  timeoutMs: number;
  /**
   * After a fetch, no other for this long, even for an unknown `kid`: a flood of made-up kids cannot turn into a
   * flood of requests to user-service.
   */
  cooldownMs: number;
}

/**
 * Verifies against user-service's JWKS over HTTP. jose caches the key set and fetches it again when a token names
 * a `kid` it does not hold (a rotation), at most once per cooldown.
 */
export function remoteJwksVerifier(url: string, options: RemoteJwksOptions): AccessTokenVerifier {
  return new JwksTokenVerifier(
    createRemoteJWKSet(new URL(url), { timeoutDuration: options.timeoutMs, cooldownDuration: options.cooldownMs }),
  );
}
