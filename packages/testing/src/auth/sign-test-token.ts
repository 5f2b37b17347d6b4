import { loadSigningKey, type Role, TokenIssuer } from '@switchyard/auth';

/**
 * A token signed with the key in `keyFile`, as user-service would issue it, without a login: for tests whose
 * service cannot reach its database, or that need a token for a user id that does not exist.
 */
export async function signTestToken(keyFile: string, userId: string, roles: Role[] = ['user']): Promise<string> {
  const issuer = new TokenIssuer(await loadSigningKey(keyFile), undefined, 900);
  return (await issuer.issue({ userId, roles })).access_token;
}
