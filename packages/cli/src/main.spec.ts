import { expect, it } from '@jest/globals';
import { main } from './main.js';

function io(): { out: string[]; err: string[]; io: Parameters<typeof main>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} } };
}

it('lists its commands on --help and refuses an unknown one with exit code 2', async () => {
  const help = io();
  expect(await main(['--help'], help.io)).toBe(0);
  expect(help.out.join('\n')).toMatch(/dlq[\s\S]*outbox[\s\S]*load/);

  const unknown = io();
  expect(await main(['deploy'], unknown.io)).toBe(2);
  expect(unknown.err.join('\n')).toContain("unknown command 'deploy'");
  expect(await main([], io().io)).toBe(2);
});

it('hands dlq and outbox to the messaging package and load to the load generator', async () => {
  const dlq = io();
  expect(await main(['dlq', '--help'], dlq.io)).toBe(0);
  expect(dlq.out.join('\n')).toContain('usage: switchyard dlq');

  const outbox = io();
  expect(await main(['outbox', '--help'], outbox.io)).toBe(0);
  expect(outbox.out.join('\n')).toContain('switchyard outbox');

  const load = io();
  expect(await main(['load', '--rate', 'x'], load.io)).toBe(2);
  expect(load.err.join('\n')).toContain('--rate');
});
