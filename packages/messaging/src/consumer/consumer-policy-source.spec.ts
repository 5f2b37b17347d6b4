import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { waitFor } from '@switchyard/testing';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConsumerPolicy, consumerPolicyFileName, serializeConsumerPolicy } from '../topology/consumer-policy.js';
import { ConsumerPolicySource } from './consumer-policy-source.js';
import type { MessagingLogger } from '../observability/messaging-logger.js';

const QUEUE = 'policy-spec.events';

function policy(overrides: Partial<ConsumerPolicy> = {}): ConsumerPolicy {
  return {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'ConsumerPolicy',
    generation: 1,
    source: 'default/policy-spec',
    service: 'policy-spec',
    queue: QUEUE,
    exchange: 'switchyard.events',
    queueType: 'quorum',
    events: [{ type: 'thing.happened', versions: [] }],
    retryDelaysMs: [1_000, 5_000],
    deliveryLimit: 20,
    deadLetter: { queue: `${QUEUE}.dlq` },
    prefetch: 20,
    paused: false,
    ...overrides,
  };
}

class RecordingLogger implements MessagingLogger {
  readonly lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
  count(level: string): number {
    return this.lines.filter((line) => line.level === level).length;
  }
}

/**
 * Writes a ConfigMap volume the way the kubelet does: the data in a timestamped directory, `..data` a symlink
 * to it, each key a symlink through `..data`; an update writes a new directory and renames a new `..data` link
 * over the old one (one atomic step), then removes the old directory.
 */
async function writeConfigMapVolume(directory: string, files: Record<string, string>, version: number): Promise<void> {
  const dataDir = `..2026_11_27_00_00_0${version}.${version}`;
  await mkdir(join(directory, dataDir));
  for (const [name, text] of Object.entries(files)) await writeFile(join(directory, dataDir, name), text);
  await symlink(dataDir, join(directory, '..data_tmp'));
  await rename(join(directory, '..data_tmp'), join(directory, '..data'));
  for (const name of Object.keys(files))
    await symlink(join('..data', name), join(directory, name)).catch(() => undefined);
  if (version > 1)
    await rm(join(directory, `..2026_11_27_00_00_0${version - 1}.${version - 1}`), { recursive: true, force: true });
}

describe('ConsumerPolicySource', () => {
  let directory: string;
  let file: string;
  let logger: RecordingLogger;
  const sources: ConsumerPolicySource[] = [];

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'consumer-policy-'));
    file = join(directory, consumerPolicyFileName(QUEUE));
    logger = new RecordingLogger();
  });
  afterEach(async () => {
    for (const source of sources.splice(0)) await source.stop();
    await rm(directory, { recursive: true, force: true });
  });

  function open(
    options: { pollIntervalMs?: number; onInvalid?: (error: Error) => void; directory?: string } = {},
  ): ConsumerPolicySource {
    const source = new ConsumerPolicySource({
      directory: options.directory ?? directory,
      queue: QUEUE,
      logger,
      pollIntervalMs: options.pollIntervalMs ?? 50,
      onInvalid: options.onInvalid,
    });
    sources.push(source);
    return source;
  }

  it('uses the code defaults when there is no file (or no directory), and says so once', async () => {
    const source = open({ directory: join(directory, 'not-mounted') });
    expect(source.current()).toEqual({ policy: undefined, origin: 'defaults', error: undefined });
    await source.poll();
    await source.poll();
    expect(logger.lines.filter((line) => line.message.includes('code defaults'))).toHaveLength(1);
    expect(logger.count('error')).toBe(0);
  });

  it('reads a valid policy at construction, before any poll', async () => {
    await writeFile(file, serializeConsumerPolicy(policy({ prefetch: 3 })));
    const source = open();
    expect(source.current().origin).toBe('file');
    expect(source.current().policy).toMatchObject({ queue: QUEUE, prefetch: 3, retryDelaysMs: [1_000, 5_000] });
  });

  it('tells subscribers about a changed file, and about its removal (back to the defaults)', async () => {
    await writeFile(file, serializeConsumerPolicy(policy()));
    const source = open();
    const seen: Array<ConsumerPolicy | undefined> = [];
    source.subscribe((next) => seen.push(next));
    source.start();

    await writeFile(file, serializeConsumerPolicy(policy({ generation: 2, paused: true, retryDelaysMs: [200] })));
    await waitFor('the changed policy', () => seen.length === 1, 5_000);
    expect(seen[0]).toMatchObject({ generation: 2, paused: true, retryDelaysMs: [200] });

    // The same policy written again (new text, same meaning) is no change.
    await writeFile(file, `${JSON.stringify(policy({ generation: 2, paused: true, retryDelaysMs: [200] }))}\n`);
    await source.poll();
    await source.poll();
    expect(seen).toHaveLength(1);

    await rm(file);
    await waitFor('the removal', () => seen.length === 2, 5_000);
    expect(seen[1]).toBeUndefined();
    expect(source.current()).toEqual({ policy: undefined, origin: 'defaults', error: undefined });
  });

  it('keeps the last good policy through invalid files, logging and counting each bad content once', async () => {
    await writeFile(file, serializeConsumerPolicy(policy({ prefetch: 7 })));
    const invalid: Error[] = [];
    const source = open({ onInvalid: (error) => invalid.push(error) });
    const seen: Array<ConsumerPolicy | undefined> = [];
    source.subscribe((next) => seen.push(next));

    const bad = [
      ['{"apiVersion":', /not JSON/],
      [JSON.stringify({ ...policy(), prefetch: 0 }), /prefetch/],
      [
        serializeConsumerPolicy(
          policy({ queue: 'someone-else.events', deadLetter: { queue: 'someone-else.events.dlq' } }),
        ),
        /queue: is 'someone-else.events'/,
      ],
      [
        serializeConsumerPolicy(policy({ deadLetter: { queue: QUEUE } })),
        /invalid topology: dead-letter queue 'policy-spec.events' must differ/,
      ],
    ] as const;
    for (const [text, reason] of bad) {
      await writeFile(file, text);
      await source.poll();
      await source.poll();
      expect(source.current().policy).toMatchObject({ prefetch: 7 });
      expect(source.current().origin).toBe('file');
      expect(source.current().error).toMatch(reason);
    }
    expect(invalid.map((error) => error.name)).toEqual([
      'InvalidConsumerPolicyError',
      'InvalidConsumerPolicyError',
      'InvalidConsumerPolicyError',
      'InvalidConsumerPolicyError',
    ]);
    expect(logger.count('error')).toBe(4);
    expect(seen).toEqual([]);

    await writeFile(file, serializeConsumerPolicy(policy({ prefetch: 9 })));
    await source.poll();
    expect(source.current()).toMatchObject({ origin: 'file', error: undefined, policy: { prefetch: 9 } });
    expect(seen).toEqual([expect.objectContaining({ prefetch: 9 })]);
  });

  it('reports a policy the consumer refused until the file changes, and ignores a refusal of a policy no longer current', async () => {
    await writeFile(file, serializeConsumerPolicy(policy({ generation: 4, queueType: 'classic' })));
    const invalid: Error[] = [];
    const source = open({ onInvalid: (error) => invalid.push(error) });
    const refused = source.current().policy;
    source.rejected(
      refused,
      new Error("queue 'policy-spec.events' already exists with different argument 'x-queue-type'"),
    );
    expect(source.current()).toMatchObject({
      origin: 'file',
      policy: { generation: 4 },
      error:
        "consumer policy default/policy-spec generation 4 not applied: queue 'policy-spec.events' already exists with different argument 'x-queue-type'",
    });
    // Counting is the consumer's (it emits policyRejected); the source only reports.
    expect(invalid).toEqual([]);

    // An invalid file in between, then the refused policy again: still refused.
    await writeFile(file, '{"apiVersion":');
    await source.poll();
    expect(source.current().error).toMatch(/not JSON/);
    await writeFile(file, serializeConsumerPolicy(policy({ generation: 4, queueType: 'classic' })));
    await source.poll();
    expect(source.current().error).toMatch(/generation 4 not applied/);

    await writeFile(file, serializeConsumerPolicy(policy({ generation: 5 })));
    await source.poll();
    expect(source.current()).toMatchObject({ policy: { generation: 5 }, error: undefined });
    // A late refusal of the old policy does not stick to the new one.
    source.rejected(refused, new Error('too late'));
    expect(source.current().error).toBeUndefined();
  });

  it('an unreadable file is an error, not "no policy": the last good policy stays', async () => {
    await writeFile(file, serializeConsumerPolicy(policy({ prefetch: 4 })));
    const source = open();
    await rm(file);
    await mkdir(file); // reading a directory fails with EISDIR
    await source.poll();
    expect(source.current()).toMatchObject({
      origin: 'file',
      policy: { prefetch: 4 },
      error: expect.stringMatching(/cannot read consumer policy/),
    });
  });

  it('follows a Kubernetes ConfigMap volume through its atomic ..data symlink swaps', async () => {
    await writeConfigMapVolume(
      directory,
      {
        [consumerPolicyFileName(QUEUE)]: serializeConsumerPolicy(policy({ generation: 1 })),
        'other.events.json': '{}',
      },
      1,
    );
    const source = open();
    expect(source.current().policy?.generation).toBe(1);
    const seen: Array<ConsumerPolicy | undefined> = [];
    source.subscribe((next) => seen.push(next));
    source.start();

    await writeConfigMapVolume(
      directory,
      { [consumerPolicyFileName(QUEUE)]: serializeConsumerPolicy(policy({ generation: 2, paused: true })) },
      2,
    );
    await waitFor('generation 2 through the swapped symlink', () => seen.length === 1, 5_000);
    expect(seen[0]).toMatchObject({ generation: 2, paused: true });

    await writeConfigMapVolume(
      directory,
      { [consumerPolicyFileName(QUEUE)]: serializeConsumerPolicy(policy({ generation: 3, prefetch: 1 })) },
      3,
    );
    await waitFor('generation 3', () => seen.length === 2, 5_000);
    expect(seen[1]).toMatchObject({ generation: 3, paused: false, prefetch: 1 });
    expect(logger.count('error')).toBe(0);
  });
});
