import { applyDecorators, SetMetadata } from '@nestjs/common';

/** Metadata key the authentication guard reads: a handler or controller carrying it is served without a token. */
export const PUBLIC_ROUTE = 'switchyard:public-route';

/** `@nestjs/swagger`'s key for an operation's security requirements (`DECORATORS.API_SECURITY`, not exported). */
const OPENAPI_SECURITY = 'swagger/apiSecurity';

/**
 * Marks a route (or every route of a controller) as open to callers without a token: sign-up, token issue, the JWKS,
 * health probes. Defined here rather than in `@switchyard/auth` so the kit's own controllers can carry it. In the
 * OpenAPI document such an operation says `security: [{}]` (no credentials needed), overriding the document-wide
 * bearer requirement.
 */
export const PublicRoute = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(PUBLIC_ROUTE, true), SetMetadata(OPENAPI_SECURITY, [{}]));
