import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CRD_PATH, eventSubscriptionCrd, eventSubscriptionCrdYaml } from './event-subscription-crd.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

describe('the EventSubscription CRD in the chart', () => {
  it('is what `npm run crd` generates from the API (not stale)', () => {
    const committed = readFileSync(`${repoRoot}${CRD_PATH}`, 'utf8');
    const generated = eventSubscriptionCrdYaml();
    const committedLines = committed.split('\n');
    const line = generated.split('\n').findIndex((text, i) => text !== committedLines[i]) + 1;
    expect(
      committed === generated
        ? 'up to date'
        : `${CRD_PATH} is stale (first difference at line ${line}): run \`npm run crd\` and commit the result`,
    ).toBe('up to date');
  });

  it('reads back as the CRD object it was written from', () => {
    expect(parse(eventSubscriptionCrdYaml())).toEqual(eventSubscriptionCrd());
  });
});
