import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  type IssuedToken,
  type JSONWebKeySet,
  MISSING_TOKEN_CHALLENGE,
  PublicRoute,
  TokenIssuer,
  unauthorized,
} from '@switchyard/auth';
import { ApiErrorResponses, ApiJsonResponse, openApiSchema, ZodValidationPipe } from '@switchyard/service-kit';
import type { Response } from 'express';
import { RateLimited } from '../abuse-limits/index.js';
import { CredentialsService } from './credentials.service.js';
import { type TokenRequestBody, tokenRequestBody, tokenResponse } from './token.schemas.js';

@ApiTags('auth')
@PublicRoute()
@Controller()
export class AuthController {
  constructor(
    private readonly credentials: CredentialsService,
    private readonly issuer: TokenIssuer,
  ) {}

  @Post('auth/token')
  @RateLimited('token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange an email and password for an access token (ES256 JWT)' })
  @ApiBody({ schema: openApiSchema(tokenRequestBody) })
  @ApiJsonResponse(200, 'The access token', tokenResponse)
  @ApiErrorResponses({ 400: 'A field is missing or has the wrong type', 401: 'Unknown email or wrong password' })
  async token(
    @Body(new ZodValidationPipe(tokenRequestBody)) body: TokenRequestBody,
    @Res({ passthrough: true }) res: Response,
  ): Promise<IssuedToken> {
    const principal = await this.credentials.authenticate(body.email, body.password);
    // One message for both causes: which emails are registered is nobody's business.
    if (!principal) throw unauthorized(res, MISSING_TOKEN_CHALLENGE, 'email or password is wrong');
    res.setHeader('Cache-Control', 'no-store');
    return this.issuer.issue(principal);
  }

  @Get('.well-known/jwks.json')
  @ApiOperation({
    summary: 'The public keys that verify access tokens (the current key, and the previous during a rotation)',
  })
  jwks(@Res({ passthrough: true }) res: Response): JSONWebKeySet {
    // Verifiers re-fetch on an unknown kid anyway; a short cache spares us a request per token elsewhere.
    res.setHeader('Cache-Control', 'public, max-age=300');
    return this.issuer.jwks();
  }
}
