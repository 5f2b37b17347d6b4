import { describe, expect, it } from '@jest/globals';
import { DROPPED_HEADERS_HEADER, fitHeaders, MAX_COPY_HEADER_BYTES, tableSize } from './header-budget.js';

describe('fitHeaders', () => {
  it('leaves headers that fit untouched', () => {
    const headers = { 'x-attempt': 2, 'ce-type': 'user.created', note: 'small' };
    expect(fitHeaders(headers, new Set())).toBe(headers);
  });

  it('drops the largest headers it may drop, names them, and keeps protected ones however large', () => {
    const headers = { 'x-attempt': 2, 'ce-id': 'a'.repeat(20_000), big: 'b'.repeat(20_000), bigger: 'c'.repeat(45_000), small: 's' };
    const fitted = fitHeaders(headers, new Set(['ce-id', 'x-attempt']));
    expect(fitted).toEqual({ 'x-attempt': 2, 'ce-id': headers['ce-id'], big: headers.big, small: 's', [DROPPED_HEADERS_HEADER]: 'bigger' });
    expect(tableSize(fitted)).toBeLessThanOrEqual(MAX_COPY_HEADER_BYTES);
  });

  it('counts nested tables and arrays, so an x-death-like history is not mistaken for small', () => {
    const history = Array.from({ length: 2_000 }, (_, i) => ({ count: i, reason: 'expired', queue: `q.retry.${i}` }));
    const fitted = fitHeaders({ history, keep: 'k' }, new Set(['keep']));
    expect(fitted).toEqual({ keep: 'k', [DROPPED_HEADERS_HEADER]: 'history' });
  });
});
