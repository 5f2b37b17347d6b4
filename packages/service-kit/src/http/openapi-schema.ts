import type { SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * The OpenAPI 3.0 form of a zod schema, so `/docs` documents exactly what the code enforces: `io: 'input'` (the
 * default) for what a request may send (the validation pipe's schema), `'output'` for what a response holds (the
 * schema its type is inferred from).
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): SchemaObject {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' });
  return json as SchemaObject;
}
