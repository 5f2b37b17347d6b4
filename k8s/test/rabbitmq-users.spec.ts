// The rabbitmq chart's broker identities, against a real RabbitMQ node: the sync script the chart's broker-users
// container runs is rendered from the chart and run once (ONCE=1) with rabbitmqctl on this machine's node, in a vhost
// of its own, with the chart's default users renamed (prefixed) so nothing shared is touched. Then the identities
// are what the values say: they log in, none is an administrator, and topic permissions hold on switchyard.events
// (user-service publishes user.*, never order.*); a second run is a no-op, and a changed password file applies.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { brokerPermissions, createTestVhost, helmAsync, type TestVhost } from '@switchyard/testing';
import amqp from 'amqplib';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Each rabbitmqctl call boots an Erlang VM (about a second); a sync of four users makes about twenty. */
const SYNC_TIMEOUT_MS = 120_000;

interface BrokerUser {
  name: string;
  tags: string;
  topic: { exchange: string; write: string; read: string };
}

let workspace: ChartWorkspace;
let vhost: TestVhost;
let dir: string;
let script: string;
const prefix = `t${randomBytes(3).toString('hex')}-`;
let users: BrokerUser[];
const passwords = new Map<string, string>();

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { env: { ...process.env, ...env }, timeout: SYNC_TIMEOUT_MS }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || error.message}`)) : resolve(stdout),
    ),
  );
}

const sync = () => run('sh', [script], { USERS_DIR: path.join(dir, 'users'), ONCE: '1' });

function writePassword(name: string, password: string): void {
  mkdirSync(path.join(dir, 'users', name), { recursive: true });
  writeFileSync(path.join(dir, 'users', name, 'password'), password);
  passwords.set(name, password);
}

const urlOf = (name: string) =>
  `amqp://${encodeURIComponent(name)}:${encodeURIComponent(passwords.get(name)!)}@127.0.0.1:5672/${encodeURIComponent(vhost.name)}`;

/** Publishes with confirms as `name`; resolves to 'ok' or the broker's refusal (the channel closes on it). */
async function publishAs(name: string, routingKey: string): Promise<string> {
  const connection = await amqp.connect(urlOf(name), { timeout: 10_000 });
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    const closed = new Promise<string>((resolve) => channel.on('error', (error: Error) => resolve(error.message)));
    const confirmed = new Promise<string>((resolve) =>
      channel.publish('switchyard.events', routingKey, Buffer.from('{}'), {}, (error) => resolve(error ? String(error) : 'ok')),
    );
    return await Promise.race([closed, confirmed]);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

beforeAll(async () => {
  [workspace, vhost] = await Promise.all([chartWorkspace(), createTestVhost('broker_users')]);
  dir = mkdtempSync(path.join(tmpdir(), 'switchyard-broker-users-'));
  const defaults = parse(readFileSync(path.join(repoRoot, 'charts', 'rabbitmq', 'values.yaml'), 'utf8')) as { users: BrokerUser[] };
  users = defaults.users.map((user) => ({ ...user, name: `${prefix}${user.name}` }));
  writeFileSync(path.join(dir, 'values.yaml'), JSON.stringify({ users, auth: { vhost: vhost.name } }));
  const rendered = await helmAsync(['template', 'r', path.join(workspace.dir, 'rabbitmq'), '-f', path.join(dir, 'values.yaml'), '--show-only', 'templates/users.yaml']);
  const configMap = parseAllDocuments(rendered)
    .map((doc) => doc.toJS() as { kind: string; data?: Record<string, string> })
    .find((object) => object.kind === 'ConfigMap')!;
  script = path.join(dir, 'sync-users.sh');
  writeFileSync(script, configMap.data!['sync-users.sh']!);
  for (const user of users) writePassword(user.name, randomBytes(12).toString('hex'));
  // The exchange exists before the services run (they declare it); the guest administrator stands in for them.
  const admin = await amqp.connect(vhost.url);
  await (await admin.createChannel()).assertExchange('switchyard.events', 'topic', { durable: true });
  await admin.close();
  await sync();
}, SYNC_TIMEOUT_MS * 2);

afterAll(async () => {
  for (const user of users ?? []) await run('rabbitmqctl', ['-q', 'delete_user', user.name]).catch(() => undefined);
  await vhost?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  workspace?.remove();
}, SYNC_TIMEOUT_MS);

describe('the rabbitmq chart broker identities', () => {
  it('grants exactly what npm start and the tests grant (brokerPermissions, the single source)', () => {
    const values = parse(readFileSync(path.join(repoRoot, 'charts/rabbitmq/values.yaml'), 'utf8')) as {
      users: Array<BrokerUser & { configure: string; write: string; read: string }>;
    };
    const fromChart = values.users.map(({ name, tags, configure, write, read, topic }) => ({
      user: name,
      tags: tags ? tags.split(',') : [],
      configure,
      write,
      read,
      topic,
    }));
    expect(fromChart).toEqual(brokerPermissions());
  });

  it('creates every user of the values with its tags, none an administrator', async () => {
    const listed = JSON.parse(await run('rabbitmqctl', ['-q', 'list_users', '--formatter', 'json'])) as { user: string; tags: string[] }[];
    for (const user of users) {
      const found = listed.find((entry) => entry.user === user.name);
      expect(found).toBeDefined();
      expect(found!.tags).not.toContain('administrator');
      expect(found!.tags).toEqual(user.tags ? user.tags.split(',') : []);
    }
  });

  it('lets user-service publish user.* and refuses it order.* on switchyard.events (topic permissions)', async () => {
    expect(await publishAs(`${prefix}user-service`, 'user.created')).toBe('ok');
    expect(await publishAs(`${prefix}user-service`, 'order.placed')).toMatch(/ACCESS_REFUSED/);
    expect(await publishAs(`${prefix}order-service`, 'order.placed')).toBe('ok');
    expect(await publishAs(`${prefix}order-service`, 'user.deleted')).toMatch(/ACCESS_REFUSED/);
  }, 30_000);

  it('applies a changed password file on the next run, and the old password stops working', async () => {
    const name = `${prefix}order-service`;
    const oldUrl = urlOf(name);
    writePassword(name, randomBytes(12).toString('hex'));
    await sync();
    await expect(amqp.connect(oldUrl, { timeout: 10_000 })).rejects.toThrow(/ACCESS_REFUSED|403/);
    const connection = await amqp.connect(urlOf(name), { timeout: 10_000 });
    await connection.close();
  }, SYNC_TIMEOUT_MS);
});
