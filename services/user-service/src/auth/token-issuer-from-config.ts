import { loadSigningKey, TokenIssuer } from '@switchyard/auth';
import type { UserServiceConfig } from '../config.js';

/**
 * The issuer with the configured keys, read before the app is built: a missing or unusable key file stops the
 * service with one line naming it (a configuration error), not a stack trace from inside Nest's injector.
 */
export async function tokenIssuerFromConfig(config: UserServiceConfig): Promise<TokenIssuer> {
  const current = await loadSigningKey(config.AUTH_SIGNING_KEY_FILE);
  const previous = config.AUTH_PREVIOUS_SIGNING_KEY_FILE
    ? await loadSigningKey(config.AUTH_PREVIOUS_SIGNING_KEY_FILE)
    : undefined;
  return new TokenIssuer(current, previous, config.AUTH_TOKEN_TTL_SECONDS);
}
