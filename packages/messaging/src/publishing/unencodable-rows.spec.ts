import { describe, expect, it } from '@jest/globals';
import { waitFor } from '@switchyard/testing';
import { UnencodableRows } from './unencodable-rows.js';

describe('UnencodableRows', () => {
  it('keeps at most its limit, forgetting the oldest first', () => {
    const rows = new UnencodableRows(60_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) rows.remember(id);
    expect(rows.ids()).toEqual(['b', 'c', 'd']);
    // Remembered again: it is the newest now, so the next one to go is c.
    rows.remember('b');
    rows.remember('e');
    expect(rows.ids()).toEqual(['d', 'b', 'e']);
  });

  it('forgets a row once its re-check is due, so the relay tries it again', async () => {
    const rows = new UnencodableRows(50);
    rows.remember('a');
    expect(rows.ids()).toEqual(['a']);
    await waitFor('the re-check', () => rows.ids().length === 0, 2_000, 10);
  });
});
