import { type JSONWebKeySet, SignJWT } from 'jose';
import type { Principal } from './principal.js';
import { type SigningKey, TOKEN_ALGORITHM } from './signing-key.js';

/** The `iss` claim of every token: user-service issues them all. */
export const TOKEN_ISSUER = 'user-service';

/** What `POST /auth/token` answers (RFC 6749 §5.1 names). */
export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds until the token expires. */
  expires_in: number;
}

/**
 * Signs access tokens with the current key and publishes the public keys. During a rotation the previous key stays
 * in the JWKS (tokens it signed remain valid until they expire) but never signs again.
 */
export class TokenIssuer {
  constructor(
    private readonly current: SigningKey,
    private readonly previous: SigningKey | undefined,
    private readonly ttlSeconds: number,
  ) {}

  async issue(principal: Principal, now = new Date()): Promise<IssuedToken> {
    const issuedAt = Math.floor(now.getTime() / 1000);
    const token = await new SignJWT({ roles: [...principal.roles] })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: this.current.kid, typ: 'JWT' })
      .setSubject(principal.userId)
      .setIssuer(TOKEN_ISSUER)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.ttlSeconds)
      .sign(this.current.privateKey);
    return { access_token: token, token_type: 'Bearer', expires_in: this.ttlSeconds };
  }

  /** `GET /.well-known/jwks.json`: the current key first, then the previous one while a rotation lasts. */
  jwks(): JSONWebKeySet {
    const keys = [this.current, ...(this.previous && this.previous.kid !== this.current.kid ? [this.previous] : [])];
    return { keys: keys.map((key) => ({ ...key.publicJwk })) };
  }
}
