import { describe, expect, it } from '@jest/globals';
import { publishInKeyOrder } from './key-ordered-publishing.js';

interface Row {
  key: string;
  n: number;
}

const rows = (key: string, count: number): Row[] => Array.from({ length: count }, (_, n) => ({ key, n }));
const name = (row: Row): string => `${row.key}${row.n}`;

/** A publisher whose confirms the test releases: records the order publishes start and are confirmed in. */
function heldPublisher(fails: (row: Row) => Error | undefined) {
  const started: string[] = [];
  const confirmed: string[] = [];
  const waiting: Array<() => void> = [];
  return {
    started,
    confirmed,
    publish: (row: Row): Promise<void> => {
      started.push(name(row));
      return new Promise<void>((resolve, reject) =>
        waiting.push(() => {
          const error = fails(row);
          if (error) return reject(error);
          confirmed.push(name(row));
          resolve();
        }),
      );
    },
    /** Confirms (or fails) everything in flight, then lets the next publishes start. */
    async confirmAll(): Promise<number> {
      const inFlight = waiting.splice(0);
      for (const settle of inFlight) settle();
      await new Promise((resolve) => setImmediate(resolve));
      return inFlight.length;
    },
  };
}

describe('publishInKeyOrder', () => {
  it('publishes different keys side by side, and each key’s rows one after another in order', async () => {
    const publisher = heldPublisher(() => undefined);
    const done = publishInKeyOrder([rows('a', 3), rows('b', 1), rows('c', 2)], publisher.publish);
    // First round: the head of every key is in flight at once, and no second row of a key before its head's confirm.
    expect(publisher.started).toEqual(['a0', 'b0', 'c0']);
    let rounds = 0;
    while ((await publisher.confirmAll()) > 0) rounds++;
    const outcome = await done;
    expect(rounds).toBe(3);
    expect(publisher.started).toEqual(['a0', 'b0', 'c0', 'a1', 'c1', 'a2']);
    expect(outcome.sent.map(name).sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'c0', 'c1']);
    expect(outcome.failed).toEqual([]);
    expect(outcome.notAttempted).toEqual([]);
  });

  it('stops a key at its first failure: no later row of that key is published, other keys go on', async () => {
    const refused = new Error('nacked');
    const publisher = heldPublisher((row) => (name(row) === 'a1' ? refused : undefined));
    const done = publishInKeyOrder([rows('a', 4), rows('b', 3)], publisher.publish);
    while ((await publisher.confirmAll()) > 0);
    const outcome = await done;
    expect(publisher.started).not.toContain('a2');
    expect(publisher.confirmed).toEqual(['a0', 'b0', 'b1', 'b2']);
    expect(outcome.failed).toEqual([{ row: { key: 'a', n: 1 }, error: refused }]);
    expect(outcome.notAttempted.map(name)).toEqual(['a2', 'a3']);
    expect(outcome.sent.map(name).sort()).toEqual(['a0', 'b0', 'b1', 'b2']);
  });

  it('treats a publisher that throws synchronously (cannot encode) as a failure of that row only', async () => {
    const publish = (row: Row): Promise<void> => {
      if (row.key === 'a' && row.n === 0) throw new TypeError('unknown event version');
      return Promise.resolve();
    };
    const outcome = await publishInKeyOrder([rows('a', 2), rows('b', 2)], publish);
    expect(outcome.failed.map(({ row, error }) => [name(row), (error as Error).message])).toEqual([
      ['a0', 'unknown event version'],
    ]);
    expect(outcome.notAttempted.map(name)).toEqual(['a1']);
    expect(outcome.sent.map(name)).toEqual(['b0', 'b1']);
  });
});
