import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { canonicalJson, payloadHash } from './payload-hash.js';

describe('payloadHash', () => {
  it('is the SHA-256 of the canonical JSON of type and data', () => {
    const expected = createHash('sha256')
      .update('{"data":{"a":1,"b":[2,{"c":3,"d":4}]},"type":"thing.x"}')
      .digest('hex');
    expect(payloadHash('thing.x', { b: [2, { d: 4, c: 3 }], a: 1 })).toBe(expected);
  });

  it('differs when the data or the type differ', () => {
    const base = payloadHash('thing.x', { a: 1 });
    expect(payloadHash('thing.x', { a: 2 })).not.toBe(base);
    expect(payloadHash('thing.y', { a: 1 })).not.toBe(base);
    expect(payloadHash('thing.x', { a: '1' })).not.toBe(base);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and otherwise writes what JSON.stringify writes', () => {
    const value = { z: null, a: { y: [1, undefined, 'x'], b: undefined }, m: new Date(0) };
    expect(canonicalJson(value)).toBe('{"a":{"y":[1,null,"x"]},"m":"1970-01-01T00:00:00.000Z","z":null}');
    expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
    expect(canonicalJson(undefined)).toBe('null');
  });
});
