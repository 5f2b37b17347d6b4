import fc from 'fast-check';
import { hostileString } from './hostile-strings.js';

/** Numbers JSON can carry that code often forgets: huge, tiny, negative zero, fractions, beyond 2^53. */
const EDGE_NUMBERS = [0, -0, -1, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e21, 1e-7, Number.MAX_VALUE, Number.MIN_VALUE];

/** Any JSON value, with hostile strings as keys and values; depth bounded so a run stays fast. */
export function hostileJsonValue(maxDepth = 3): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    hostileString(),
    fc.constantFrom(...EDGE_NUMBERS),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(
        fc.oneof(hostileString({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype')),
        tie('value'),
        { maxKeys: 4 },
      ),
    ),
  }));
  return value;
}

/** `depth` nested arrays or objects around a value, as JSON text (built as text: a recursive JSON.stringify could overflow). */
export function deeplyNestedJson(depth: number, kind: 'array' | 'object', inner = '1'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
}

/**
 * Replaces some fields of a valid body with hostile values or removes them, and may add unknown fields: the
 * classic way to find the one field whose validation was forgotten.
 */
export function mutatedBody(valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(valid);
  const replacement = fc.oneof(fc.constant(undefined), hostileJsonValue(2), hostileString({ maxLength: 300 }));
  return fc
    .record({
      replaced: fc.subarray(keys, { minLength: 1 }),
      values: fc.array(replacement, { minLength: keys.length, maxLength: keys.length }),
      extra: fc.dictionary(hostileString({ maxLength: 12 }), hostileJsonValue(1), { maxKeys: 2 }),
    })
    .map(({ replaced, values, extra }) => {
      const body: Record<string, unknown> = { ...valid };
      replaced.forEach((key, index) => {
        if (values[index] === undefined) delete body[key];
        else body[key] = values[index];
      });
      // Object.assign would treat a `__proto__` key as the prototype; defineProperty makes it an own field, as JSON.parse does.
      for (const [key, value] of Object.entries(extra))
        Object.defineProperty(body, key, { value, enumerable: true, writable: true, configurable: true });
      return body;
    });
}
