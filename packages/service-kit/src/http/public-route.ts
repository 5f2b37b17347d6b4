import { SetMetadata } from '@nestjs/common';

/** Metadata key the authentication guard reads: a handler or controller carrying it is served without a token. */
export const PUBLIC_ROUTE = 'switchyard:public-route';

/**
 * Marks a route (or every route of a controller) as open to callers without a token: sign-up, token issue, the JWKS,
 * health probes. Defined here rather than in `@switchyard/auth` so the kit's own controllers can carry it.
 */
export const PublicRoute = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
