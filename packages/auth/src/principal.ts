/** Roles a token can carry: `admin` comes from `ADMIN_EMAILS` when the token is issued, everyone else is `user`. */
export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as a verified token says: the user's id (`sub`) and roles. */
export interface Principal {
  userId: string;
  roles: readonly Role[];
}

export const isAdmin = (principal: Principal): boolean => principal.roles.includes('admin');
