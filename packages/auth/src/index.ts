export { PublicRoute } from '@switchyard/service-kit';
export { requireRole, requireSelf, requireSelfOrAdmin } from './access-rules.js';
export {
  DEFAULT_JWKS_COOLDOWN_MS,
  DEFAULT_JWKS_TIMEOUT_MS,
  DEFAULT_JWKS_URL,
  DEFAULT_TOKEN_TTL_SECONDS,
  tokenIssuerConfigShape,
  tokenVerifierConfigShape,
} from './auth-config.js';
export { INVALID_TOKEN_CHALLENGE, MISSING_TOKEN_CHALLENGE, unauthorized } from './auth-responses.js';
export { AuthModule } from './auth.module.js';
export type { AuthModuleAsyncOptions } from './auth.module.js';
export { CurrentPrincipal } from './current-principal.decorator.js';
export { isAdmin, ROLES } from './principal.js';
export type { Principal, Role } from './principal.js';
export { loadSigningKey, SigningKeyError, signingKeyFromPem, TOKEN_ALGORITHM } from './signing-key.js';
export type { SigningKey } from './signing-key.js';
export { TOKEN_ISSUER, TokenIssuer } from './token-issuer.js';
export type { IssuedToken } from './token-issuer.js';
export type { JSONWebKeySet } from 'jose';
export {
  InvalidTokenError,
  localKeysVerifier,
  remoteJwksVerifier,
  TokenKeysUnavailableError,
} from './token-verifier.js';
export type { AccessTokenVerifier, RemoteJwksOptions } from './token-verifier.js';
