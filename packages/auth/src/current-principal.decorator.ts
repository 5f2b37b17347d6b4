import { createParamDecorator, type ExecutionContext, InternalServerErrorException } from '@nestjs/common';
import type { Request } from 'express';
import type { Principal } from './principal.js';

/** Where the guard leaves the verified caller on the request. */
export const PRINCIPAL = Symbol('switchyard.principal');

export type AuthenticatedRequest = Request & { [PRINCIPAL]?: Principal };

/**
 * The verified caller (`{ userId, roles }`) as a handler parameter. On a public route there is none: a handler
 * asking for it there is a wiring mistake, and fails loudly rather than acting for nobody.
 */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>()[PRINCIPAL];
  if (!principal) throw new InternalServerErrorException('CurrentPrincipal used on a route without authentication');
  return principal;
});
