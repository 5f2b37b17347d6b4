// What the images hold, and what they must not: compiled JavaScript only (no TypeScript sources outside .d.ts in
// node_modules), production dependencies only (no jest, typescript, eslint…), no npm cache, and a numeric non-root
// user. Checked inside each image with its own shell and find, as the files are, not as the Dockerfile says.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { docker, image, requireImages } from './docker-cli.js';

const IMAGES = ['user-service', 'order-service', 'topology-operator'] as const;
/** devDependencies of the root package.json (and the workspaces') that would give a build stage away. */
const DEV_ONLY = [
  'jest',
  'typescript',
  'tsc7',
  'eslint',
  'prisma',
  '@swc/core',
  '@swc/jest',
  'supertest',
  'typescript-eslint',
  'fast-check',
  '@switchyard/testing',
];

/** Runs `script` with the image's /bin/sh, as the image's own user, and returns its stdout lines. */
async function inImage(name: (typeof IMAGES)[number], script: string): Promise<string[]> {
  const out = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', image(name), '-c', script]);
  return out.split('\n').filter((line) => line !== '');
}

beforeAll(async () => {
  await requireImages(IMAGES);
}, 60_000);

describe.each(IMAGES)('image %s', (name) => {
  // Declarations (.d.ts) are allowed inside node_modules and in the workspace packages' dist/ (tsc -b writes them
  // beside the JavaScript, and node_modules/@switchyard/* links there); a .ts file anywhere else is a source.
  it('holds no TypeScript sources (only .d.ts in node_modules and the packages’ dist/)', async () => {
    const found = await inImage(
      name,
      `find / -xdev \\( -path /proc -o -path /sys \\) -prune -o -type f \\( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.tsx' \\) -print 2>/dev/null | grep -Ev '/node_modules/.*\\.d\\.[mc]?ts$' | grep -Ev '^/app/(packages|services)/[^/]+/dist/.*\\.d\\.[mc]?ts$' || true`,
    );
    expect(found).toEqual([]);
  }, 120_000);

  it('holds the compiled service and no devDependencies', async () => {
    const dir = `/app/services/${name}`;
    expect(await inImage(name, `test -f ${dir}/dist/main.js && echo present`)).toEqual(['present']);
    const present = await inImage(
      name,
      DEV_ONLY.map((pkg) => `[ -e /app/node_modules/${pkg} ] && echo ${pkg}; `).join('') + 'true',
    );
    expect(present).toEqual([]);
  }, 60_000);

  it('holds no npm cache', async () => {
    const found = await inImage(
      name,
      'ls -d /root/.npm /home/*/.npm /tmp/.npm /app/.npm 2>/dev/null; find / -xdev -type d -name _cacache -print 2>/dev/null; true',
    );
    expect(found).toEqual([]);
  }, 120_000);

  it('runs as the numeric non-root user 10001', async () => {
    expect((await docker(['image', 'inspect', '--format', '{{.Config.User}}', image(name)])).trim()).toBe(
      '10001:10001',
    );
    expect(await inImage(name, 'id -u; id -g')).toEqual(['10001', '10001']);
  }, 60_000);
});
