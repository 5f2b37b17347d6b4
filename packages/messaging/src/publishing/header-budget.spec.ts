import { describe, expect, it } from '@jest/globals';
import {
  DROPPED_HEADERS_HEADER,
  fitHeaders,
  MAX_COPY_HEADER_BYTES,
  MAX_ESSENTIAL_HEADER_CHARS,
  tableSize,
} from './header-budget.js';

const priorities = { essential: new Set(['ce-id', 'x-attempt']), preferred: new Set(['tracestate']) };

describe('fitHeaders', () => {
  it('leaves headers that fit untouched', () => {
    const headers = { 'x-attempt': 2, 'ce-type': 'user.created', note: 'small' };
    expect(fitHeaders(headers, priorities)).toBe(headers);
  });

  it('drops the largest ordinary headers first, names them, and keeps preferred and essential ones while that suffices', () => {
    const headers = {
      'x-attempt': 2,
      'ce-id': 'a'.repeat(20_000),
      tracestate: 't'.repeat(5_000),
      big: 'b'.repeat(20_000),
      bigger: 'c'.repeat(45_000),
      small: 's',
    };
    const fitted = fitHeaders(headers, priorities);
    expect(fitted).toEqual({
      'x-attempt': 2,
      'ce-id': headers['ce-id'],
      tracestate: headers.tracestate,
      big: headers.big,
      small: 's',
      [DROPPED_HEADERS_HEADER]: 'bigger',
    });
    expect(tableSize(fitted)).toBeLessThanOrEqual(MAX_COPY_HEADER_BYTES);
  });

  it('sheds a large preferred header (say a producer-sized tracestate) before any small header', () => {
    const fitted = fitHeaders(
      { 'x-attempt': 1, 'ce-id': 'id', tracestate: 't'.repeat(65_000), small: 's' },
      priorities,
    );
    expect(fitted).toEqual({ 'x-attempt': 1, 'ce-id': 'id', small: 's', [DROPPED_HEADERS_HEADER]: 'tracestate' });
  });

  it('sheds small ordinary headers before small preferred ones when many small ones add up', () => {
    const many = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`h${String(i).padStart(3, '0')}`, 'v'.repeat(600)]),
    );
    const fitted = fitHeaders({ ...many, tracestate: 't'.repeat(600), 'ce-id': 'id' }, priorities);
    expect(fitted.tracestate).toBe('t'.repeat(600));
    expect(String(fitted[DROPPED_HEADERS_HEADER]).split(',').length).toBeGreaterThan(0);
    expect(tableSize(fitted)).toBeLessThanOrEqual(MAX_COPY_HEADER_BYTES);
  });

  it('cuts an oversized essential string as a last resort, and says so', () => {
    const fitted = fitHeaders({ 'x-attempt': 1, 'ce-id': 'i'.repeat(60_000) }, priorities);
    expect(fitted['ce-id']).toHaveLength(MAX_ESSENTIAL_HEADER_CHARS);
    expect(fitted[DROPPED_HEADERS_HEADER]).toBe('ce-id(cut)');
    expect(tableSize(fitted)).toBeLessThanOrEqual(MAX_COPY_HEADER_BYTES);
  });

  it('counts nested tables and arrays, so an x-death-like history is not mistaken for small', () => {
    const history = Array.from({ length: 2_000 }, (_, i) => ({ count: i, reason: 'expired', queue: `q.retry.${i}` }));
    expect(fitHeaders({ history, 'ce-id': 'k' }, priorities)).toEqual({
      'ce-id': 'k',
      [DROPPED_HEADERS_HEADER]: 'history',
    });
  });
});
