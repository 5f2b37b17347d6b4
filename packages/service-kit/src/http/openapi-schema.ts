import type { SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';

/** The OpenAPI 3.0 form of a zod schema, so `/docs` documents exactly what the validation pipe enforces. */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' });
  return json as SchemaObject;
}
