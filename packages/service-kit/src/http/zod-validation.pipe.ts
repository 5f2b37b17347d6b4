import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { errorBody, type FieldProblem } from './error-body.js';

/** A path segment as written in a field path; an empty key (`{"": 1}`, `?=1`) still needs a visible name. */
function segmentName(segment: PropertyKey): string {
  const name = String(segment);
  return name === '' ? '""' : name;
}

/** Turns zod issues into one problem per field; unknown keys become one problem each, named. */
export function fieldProblems(error: z.ZodError, root: string): FieldProblem[] {
  return error.issues.flatMap((issue): FieldProblem[] => {
    const at = issue.path.map(segmentName);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: [...at, segmentName(key)].join('.'),
        message: 'is not an allowed field',
      }));
    }
    return [{ field: at.length ? at.join('.') : root, message: issue.message }];
  });
}

/**
 * Validates (and coerces) a request part with a zod schema. The 400 names every bad field and never
 * echoes the value that was sent: it may be a password.
 */
@Injectable()
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    /** What a problem at the root is called: `body`, `query`, or a route parameter's name. */
    private readonly root = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const details = fieldProblems(result.error, this.root);
    const fields = [...new Set(details.map((d) => d.field))];
    throw new BadRequestException(
      errorBody(400, `invalid ${this.root === 'body' ? 'request body' : this.root}: ${fields.join(', ')}`, details),
    );
  }
}
