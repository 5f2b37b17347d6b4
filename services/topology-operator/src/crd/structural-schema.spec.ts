import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { structuralSchemaOf } from './structural-schema.js';

describe('structuralSchemaOf', () => {
  it('writes what a structural CRD schema allows: no $schema, closed objects open, no safe-integer bounds', () => {
    const schema = z
      .object({
        count: z.number().int().min(0).meta({ format: 'int64' }),
        ratio: z.number().gt(1).max(10),
        mode: z.enum(['a', 'b']).default('a').describe('The mode.'),
        meta: z.object({}).optional(),
      })
      .strict();
    expect(structuralSchemaOf(schema)).toEqual({
      type: 'object',
      required: ['count', 'ratio'],
      properties: {
        count: { type: 'integer', format: 'int64', minimum: 0 },
        ratio: { type: 'number', minimum: 1, exclusiveMinimum: true, maximum: 10 },
        mode: { type: 'string', description: 'The mode.', default: 'a', enum: ['a', 'b'] },
        meta: { type: 'object' },
      },
    });
  });

  it('writes keywords in one order, whatever order zod emits them in', () => {
    const keys = Object.keys(structuralSchemaOf(z.array(z.string()).max(3).describe('Names.')));
    expect(keys).toEqual(['type', 'description', 'maxItems', 'items']);
  });

  it('adds the overlay at its path, and refuses a path the schema lacks or a keyword it already has', () => {
    const schema = z.object({ list: z.array(z.object({ name: z.string() })) });
    const rule = { rule: 'self.name != ""', message: 'name must not be empty' };
    expect(
      structuralSchemaOf(schema, {
        list: { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
        'list[]': { 'x-kubernetes-validations': [rule] },
      }).properties!['list'],
    ).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: { 'x-kubernetes-validations': [rule] },
    });
    expect(() => structuralSchemaOf(schema, { 'list[].other': { 'x-kubernetes-list-type': 'set' } })).toThrow(
      "CRD overlay: 'list[].other' is not in the generated schema",
    );
    expect(() => structuralSchemaOf(schema, { list: { oneOf: [] } })).not.toThrow();
  });

  it('refuses what a structural schema cannot hold (a union becomes anyOf)', () => {
    expect(() => structuralSchemaOf(z.object({ value: z.union([z.string(), z.number()]) }))).toThrow(
      ".value: 'anyOf' is not allowed in a structural CRD schema",
    );
  });
});
