import { type CanActivate, type ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_ROUTE } from '@switchyard/service-kit';
import type { Response } from 'express';
import { INVALID_TOKEN_CHALLENGE, keysUnavailable, unauthorized } from './auth-responses.js';
import { type AuthenticatedRequest, PRINCIPAL } from './current-principal.decorator.js';
import { type AccessTokenVerifier, InvalidTokenError } from './token-verifier.js';

/** Injection token of the service's `AccessTokenVerifier`. */
export const ACCESS_TOKEN_VERIFIER = Symbol('switchyard.AccessTokenVerifier');

/** `Bearer <token>`; the scheme is case-insensitive (RFC 7235 §2.1), the token is base64url and dots. */
const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i;

/**
 * Every HTTP route needs a valid token unless it is marked `@PublicRoute()`. Registered globally, so a new route is
 * closed by default. Only the HTTP context is guarded: event handlers are authenticated by the broker.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger(AuthGuard.name);

  constructor(
    private readonly reflector: Reflector,
    @Inject(ACCESS_TOKEN_VERIFIER) private readonly verifier: AccessTokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()]))
      return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    const header = request.headers.authorization;
    if (header === undefined || header === '')
      throw unauthorized(response, INVALID_TOKEN_CHALLENGE, 'this route needs an access token (Authorization: Bearer)');
    const token = BEARER.exec(header)?.[1];
    if (token === undefined)
      throw unauthorized(response, INVALID_TOKEN_CHALLENGE, 'the Authorization header is not "Bearer <token>"');
    try {
      request[PRINCIPAL] = await this.verifier.verify(token);
      return true;
    } catch (error) {
      // The reason stays in our log: telling a caller which check failed helps only a forger.
      if (error instanceof InvalidTokenError) {
        this.logger.debug({ msg: 'refused an access token', reason: error.message });
        throw unauthorized(response, INVALID_TOKEN_CHALLENGE, 'the access token is invalid or expired');
      }
      this.logger.warn({ msg: 'could not verify an access token: signing keys unavailable', err: error });
      throw keysUnavailable(response);
    }
  }
}
