import { ForbiddenException, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { errorBody } from '@switchyard/service-kit';
import type { Response } from 'express';

/**
 * A protected route answers every refusal, a missing token included, with `invalid_token` (the platform's contract:
 * one challenge for clients to handle; RFC 6750 §3 only says SHOULD NOT for the missing case). The bare challenge is
 * for `POST /auth/token`, where the credentials refused are an email and password, not a token.
 */
export const MISSING_TOKEN_CHALLENGE = 'Bearer';
export const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/** Seconds a client is told to wait when the signing keys could not be fetched. */
export const KEYS_RETRY_AFTER_SECONDS = 5;

/**
 * A 401 with the challenge header and the kit's JSON error body. The header goes on the response now: the error
 * filter writes status and body later, and keeps headers already set.
 */
export function unauthorized(response: Response, challenge: string, message: string): UnauthorizedException {
  response.setHeader('WWW-Authenticate', challenge);
  return new UnauthorizedException(errorBody(401, message));
}

export function keysUnavailable(response: Response): ServiceUnavailableException {
  response.setHeader('Retry-After', String(KEYS_RETRY_AFTER_SECONDS));
  return new ServiceUnavailableException(errorBody(503, 'token signing keys unavailable, retry later'));
}

export function forbidden(message: string): ForbiddenException {
  return new ForbiddenException(errorBody(403, message));
}
