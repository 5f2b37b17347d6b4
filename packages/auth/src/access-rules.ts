import { forbidden } from './auth-responses.js';
import { isAdmin, type Principal, type Role } from './principal.js';

/**
 * Authorisation checks a handler makes once it knows whose data a request touches. They compare ids only (no
 * lookup), so a 403 says nothing about whether that other user exists.
 */

/** Only the user themself: updating or deleting an account, acting on one's own orders. */
export function requireSelf(principal: Principal, userId: string, what: string): void {
  if (principal.userId !== userId) throw forbidden(`${what} is allowed only for your own account`);
}

/** The user themself, or an admin: reading an account or a profile. */
export function requireSelfOrAdmin(principal: Principal, userId: string, what: string): void {
  if (principal.userId !== userId && !isAdmin(principal))
    throw forbidden(`${what} is allowed only for your own account or an admin`);
}

export function requireRole(principal: Principal, role: Role, what: string): void {
  if (!principal.roles.includes(role)) throw forbidden(`${what} needs the ${role} role`);
}
