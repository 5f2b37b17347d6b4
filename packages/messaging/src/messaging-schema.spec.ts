import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** Each `model … { … }` block of a Prisma schema, by name. */
function models(schema: string): Map<string, string> {
  return new Map([...schema.matchAll(/^(?:\/\/\/.*\n)*model (\w+) \{[^}]*\}/gm)].map((match) => [match[1]!, match[0]]));
}

describe('the messaging tables in each service schema', () => {
  const canonical = models(read('../prisma/messaging.prisma'));

  it('has the outbox and inbox models to copy', () => {
    expect([...canonical.keys()]).toEqual(['OutboxEvent', 'InboxEvent']);
  });

  it.each([
    '../../../services/user-service/prisma/schema.prisma',
    '../../../services/order-service/prisma/schema.prisma',
    '../test/fixtures/schema.prisma',
  ])('%s holds them exactly as prisma/messaging.prisma defines them', (path) => {
    const copy = models(read(path));
    for (const [name, block] of canonical) expect(copy.get(name)).toBe(block);
  });
});
