import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { z } from 'zod';
import { errorBodySchema } from './error-body.js';
import { openApiSchema } from './openapi-schema.js';

/**
 * A documented JSON response whose schema is the zod schema the route's return type is inferred from, so the
 * OpenAPI document (and clients generated from it) cannot drift from what the handler returns.
 */
export function ApiJsonResponse(
  status: number,
  description: string,
  schema: z.ZodType,
): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, schema: openApiSchema(schema, 'output') });
}

/** Documented error responses, each with the JSON body every error has (`HttpErrorFilter`, `errorBody`). */
export function ApiErrorResponses(errors: Record<number, string>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(errors).map(([status, description]) =>
      ApiJsonResponse(Number(status), description, errorBodySchema),
    ),
  );
}
