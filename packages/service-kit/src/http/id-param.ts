import { z } from 'zod';
import { ZodValidationPipe } from './zod-validation.pipe.js';

/** A route parameter that must be a UUID; anything else is a 400 naming the parameter, never a database error. */
export function uuidParam(name: string): ZodValidationPipe<z.ZodUUID> {
  return new ZodValidationPipe(z.uuid({ error: 'must be a UUID' }), name);
}
