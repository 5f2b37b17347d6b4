// Stable secrets (charts/README.md, "Stable secrets"): every generated password and key of the charts is the live
// Secret's when there is one (lookup), else derived from global.secretSeed, else random. Checked here:
// - two `helm template` renders of the umbrella with the same seed give byte-identical Secrets (what a GitOps tool
//   renders without cluster access), the signing key included; another seed or release gives other values;
// - against the real API server (the shared control plane: `npm run kube:up`), an install with one seed followed by
//   an upgrade with another keeps every Secret as installed: a live secret is never regenerated.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestNamespace, helmAsync, sharedControlPlane, type ControlPlane, type TestNamespace } from '@switchyard/testing';
import { createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';

interface SecretObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Secret name → its data as plain strings, from rendered manifests or a server's list. */
function secretsOf(objects: SecretObject[]): Record<string, Record<string, string>> {
  const secrets: Record<string, Record<string, string>> = {};
  for (const object of objects.filter((o) => o?.kind === 'Secret')) {
    const decoded = Object.fromEntries(Object.entries(object.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    secrets[object.metadata.name] = { ...decoded, ...object.stringData };
  }
  return secrets;
}

const parseStream = (text: string) => parseAllDocuments(text).map((doc) => doc.toJS() as SecretObject).filter(Boolean);

let workspace: ChartWorkspace;

beforeAll(async () => {
  workspace = await chartWorkspace();
}, 300_000);

afterAll(() => workspace?.remove());

/** Seeds are at least 32 characters (the schema refuses a shorter one: every password and the key derive from it). */
const SEED_A = 'seed-a-0123456789-0123456789-0123456789';
const SEED_B = 'seed-b-0123456789-0123456789-0123456789';

describe('helm template with global.secretSeed', () => {
  it('refuses a seed shorter than 32 characters', async () => {
    await expect(
      helmAsync(['template', 'sy', path.join(workspace.dir, 'switchyard'), '--set', 'global.secretSeed=short']),
    ).rejects.toThrow(/secretSeed/);
  });


  const render = async (release: string, seed: string) =>
    secretsOf(parseStream(await helmAsync(['template', release, path.join(workspace.dir, 'switchyard'), '--namespace', 'shop', '--set', `global.secretSeed=${seed}`])));

  it('gives the same Secrets on every render, signing key included, and other values for another seed or release', async () => {
    const [first, second, otherSeed, otherRelease] = await Promise.all([render('sy', SEED_A), render('sy', SEED_A), render('sy', SEED_B), render('sz', SEED_A)]);
    expect(Object.keys(first).sort()).toEqual(
      ['sy-observability-grafana', 'sy-postgres', 'sy-postgres-order-service', 'sy-postgres-user-service', 'sy-rabbitmq', 'sy-rabbitmq-order-service', 'sy-rabbitmq-switchyard-dlq', 'sy-rabbitmq-switchyard-operator', 'sy-rabbitmq-user-service', 'sy-user-service-auth'].sort(),
    );
    expect(second).toEqual(first);
    const key = first['sy-user-service-auth']!['signing-key.pem']!;
    expect(createPrivateKey(key).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(otherSeed['sy-user-service-auth']!['signing-key.pem']).not.toBe(key);
    expect(otherSeed['sy-postgres-user-service']!['password']).not.toBe(first['sy-postgres-user-service']!['password']);
    expect(otherRelease['sz-rabbitmq-user-service']!['password']).not.toBe(first['sy-rabbitmq-user-service']!['password']);
    // Every identity its own password.
    const passwords = Object.values(first).map((data) => data['password']).filter(Boolean);
    expect(new Set(passwords).size).toBe(passwords.length);
  }, 120_000);

  it('wires each service to its own broker identity and its database runtime role, migrations to the owner', async () => {
    const manifests = parseStream(await helmAsync(['template', 'sy', path.join(workspace.dir, 'switchyard'), '--namespace', 'shop', '--set', `global.secretSeed=${SEED_A}`]));
    const json = JSON.stringify(manifests);
    expect(json).toContain('"name":"sy-rabbitmq-user-service","key":"url"');
    expect(json).toContain('"name":"sy-rabbitmq-order-service","key":"url"');
    expect(json).toContain('"name":"sy-rabbitmq-switchyard-operator","key":"url"');
    expect(json).toContain('"name":"sy-postgres-user-service","key":"MIGRATION_DATABASE_URL"');
    const secrets = secretsOf(manifests);
    expect(secrets['sy-postgres-user-service']!['DATABASE_URL']).toMatch(/^postgresql:\/\/switchyard_users_app:/);
    expect(secrets['sy-postgres-user-service']!['MIGRATION_DATABASE_URL']).toMatch(/^postgresql:\/\/user_service:/);
    expect(secrets['sy-rabbitmq-user-service']!['url']).toMatch(/^amqp:\/\/user-service:/);
  }, 120_000);
});

describe('helm upgrade against the API server', () => {
  let plane: ControlPlane;
  let namespace: TestNamespace;
  const helmOnPlane = (args: string[]) => helmAsync([...args, '--kubeconfig', plane.kubeconfigPath]);
  const CHARTS = [
    ['pg', 'postgres', []],
    ['mq', 'rabbitmq', []],
    ['us', 'user-service', ['--set', 'migrations.enabled=false', '--set', 'tests.enabled=false']],
  ] as const;
  const live = async () =>
    secretsOf((JSON.parse(await plane.kubectl(['get', 'secrets', '-n', namespace.name, '-o', 'json'])) as { items: SecretObject[] }).items);

  beforeAll(async () => {
    plane = await sharedControlPlane();
    namespace = await createTestNamespace(plane, 'chart-secrets');
  }, 120_000);

  afterAll(async () => {
    for (const [release] of CHARTS) await helmOnPlane(['uninstall', release, '-n', namespace?.name ?? '']).catch(() => undefined);
    await namespace?.drop();
  }, 180_000);

  it('keeps every Secret of the install through an upgrade with another seed (lookup wins), and they are what the seed rendered', async () => {
    for (const [release, chart, args] of CHARTS) {
      await helmOnPlane(['install', release, path.join(workspace.dir, chart), '-n', namespace.name, '--set', `global.secretSeed=${SEED_A}`, ...args]);
    }
    const installed = await live();
    const names = Object.keys(installed).filter((name) => !name.startsWith('sh.helm.release'));
    expect(names.sort()).toEqual(['mq-rabbitmq', 'mq-rabbitmq-order-service', 'mq-rabbitmq-switchyard-dlq', 'mq-rabbitmq-switchyard-operator', 'mq-rabbitmq-user-service', 'pg-postgres', 'pg-postgres-order-service', 'pg-postgres-user-service', 'us-user-service-auth']);
    const rendered = secretsOf(parseStream(await helmAsync(['template', 'us', path.join(workspace.dir, 'user-service'), '-n', namespace.name, '--set', `global.secretSeed=${SEED_A}`])));
    expect(installed['us-user-service-auth']).toEqual(rendered['us-user-service-auth']);

    for (const [release, chart, args] of CHARTS) {
      await helmOnPlane(['upgrade', release, path.join(workspace.dir, chart), '-n', namespace.name, '--set', `global.secretSeed=${SEED_B}`, ...args]);
    }
    const upgraded = await live();
    for (const name of names) expect({ name, data: upgraded[name] }).toEqual({ name, data: installed[name] });
  }, 300_000);
});
