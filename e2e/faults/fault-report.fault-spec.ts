// The results file of the fault suite: a filtered run must not drop the results of the scenarios it did not run.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ScenarioResult, writeResults } from './fault-report.js';

const dir = mkdtempSync(join(tmpdir(), 'fault-results-'));

/** A result that differs by name and by one number, which is all the merge looks at. */
function result(scenario: string, lost: number): ScenarioResult {
  return { scenario, lost } as ScenarioResult;
}

function recorded(): Array<{ scenario: string; lost: number; recordedAt?: string }> {
  return (JSON.parse(readFileSync(join(dir, 'full.json'), 'utf8')) as { results: [] }).results;
}

describe('writeResults', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('merges by scenario name: replaces the scenarios run, keeps the others in place, appends new ones', () => {
    writeResults('full', [result('a', 1), result('b', 1), result('c', 1)], dir);
    writeResults('full', [result('d', 0), result('b', 0)], dir);
    expect(recorded().map(({ scenario, lost }) => [scenario, lost])).toEqual([
      ['a', 1],
      ['b', 0],
      ['c', 1],
      ['d', 0],
    ]);
    expect(recorded().every((entry) => typeof entry.recordedAt === 'string')).toBe(true);
  });

  it('refuses to overwrite a file that is not a results file', () => {
    writeFileSync(join(dir, 'odd.json'), '{"something": "else"}');
    expect(() => writeResults('odd', [result('a', 0)], dir)).toThrow(/has no "results" array/);
    expect(readFileSync(join(dir, 'odd.json'), 'utf8')).toBe('{"something": "else"}');
  });
});
