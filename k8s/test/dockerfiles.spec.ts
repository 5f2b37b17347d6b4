import { describe, expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { contextSources, execForm, imageProblems, isDockerIgnored, parseDockerfile, type ServiceImageContract } from './dockerfile.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

/** Every npm workspace directory of the root package.json (globs `dir/*` expanded). */
function workspaceDirs(): string[] {
  const { workspaces } = JSON.parse(read('package.json')) as { workspaces: string[] };
  return workspaces.flatMap((entry) => {
    if (!entry.endsWith('/*')) return [entry];
    const parent = entry.slice(0, -2);
    return readdirSync(path.join(repoRoot, parent), { withFileTypes: true })
      .filter((dirent) => dirent.isDirectory() && existsSync(path.join(repoRoot, parent, dirent.name, 'package.json')))
      .map((dirent) => `${parent}/${dirent.name}`);
  });
}

interface ImageUnderTest extends Omit<ServiceImageContract, 'workspaces'> {
  /** The source file that states the default port. */
  configFile: string;
}

/** Every image skaffold.yaml builds: the two services, and the topology operator (no database, no tracing). */
const images: ImageUnderTest[] = [
  { service: 'user-service', port: 3001, configFile: 'src/config.ts' },
  { service: 'order-service', port: 3002, configFile: 'src/config.ts' },
  { service: 'topology-operator', port: 8080, configFile: 'src/config/operator-config.ts', prisma: false, telemetryPreload: false },
];
const databaseServices = images.filter((image) => image.prisma ?? true);
const workspaces = workspaceDirs();
const dockerignore = read('.dockerignore');

describe.each(images)('services/$service/Dockerfile', ({ service, port, configFile, ...flags }) => {
  const file = `services/${service}/Dockerfile`;
  const text = read(file);
  const contract = { service, port, workspaces, ...flags };

  test('keeps the image contract (pinned multi-stage build, prod deps only, non-root, exec-form node, labels)', () => {
    expect(imageProblems(text, contract)).toEqual([]);
  });

  test('the port is the one the service listens on by default', () => {
    // The config file states the default port; the image must EXPOSE the same one.
    expect(read(`services/${service}/${configFile}`)).toMatch(new RegExp(`\\b${port}\\b`));
  });

  test('runs exactly what `npm start` runs, node as PID 1 (services: `node --import @switchyard/telemetry/register dist/main.js`)', () => {
    const final = parseDockerfile(text).stages.at(-1)!;
    const cmd = final.instructions.filter((i) => i.keyword === 'CMD').at(-1)!;
    const pkg = JSON.parse(read(`services/${service}/package.json`)) as { scripts: { start: string } };
    expect(execForm(cmd.args)?.join(' ')).toBe(pkg.scripts.start);
  });

  test('everything it copies from the context exists and is not excluded by .dockerignore', () => {
    const sources = contextSources(text);
    expect(sources.length).toBeGreaterThan(10);
    for (const source of sources) {
      expect({ source, exists: existsSync(path.join(repoRoot, source)) }).toEqual({ source, exists: true });
      expect({ source, ignored: isDockerIgnored(source, dockerignore) }).toEqual({ source, ignored: false });
    }
  });
});

describe.each(databaseServices)('services/$service/Dockerfile (a service with a database)', ({ service }) => {
  test('the migration CLI the Job runs with npx is a bin of a workspace the service depends on', () => {
    const db = JSON.parse(read('packages/db-migrate/package.json')) as { name: string; bin: Record<string, string> };
    const pkg = JSON.parse(read(`services/${service}/package.json`)) as { dependencies: Record<string, string> };
    expect(db.bin['switchyard-migrate']).toBe('./bin/switchyard-migrate.js');
    expect(pkg.dependencies[db.name]).toBeDefined();
    expect(existsSync(path.join(repoRoot, `services/${service}/prisma/schema.prisma`))).toBe(true);
    expect(existsSync(path.join(repoRoot, `services/${service}/prisma/migrations`))).toBe(true);
  });
});

test('both Dockerfiles are the same file up to the service name, port and description', () => {
  const normalise = (text: string, service: string, port: number) =>
    text
      .split('\n')
      .filter((line) => !line.includes('org.opencontainers.image.description') && !line.startsWith('#'))
      // The manifest lines name both services in both files.
      .map((line) => (/^COPY services\/[a-z-]+\/package\.json/.test(line) ? line : line.replaceAll(service, 'SERVICE').replaceAll(String(port), 'PORT')))
      .join('\n');
  expect(normalise(read('services/order-service/Dockerfile'), 'order-service', 3002)).toBe(
    normalise(read('services/user-service/Dockerfile'), 'user-service', 3001),
  );
});

test('the operator image is built on the same pinned Node as the services', () => {
  const nodeVersion = (service: string) => parseDockerfile(read(`services/${service}/Dockerfile`)).globalArgs.get('NODE_VERSION');
  expect(nodeVersion('topology-operator')).toBe(nodeVersion('user-service'));
});

describe('.dockerignore', () => {
  test.each(['node_modules', 'packages/messaging/node_modules', '.git', '.toolchain', 'services/user-service/dist', 'services/order-service/src/generated', 'bench/results', 'coverage', 'npm-debug.log', '.env'])(
    'excludes %s',
    (entry) => {
      expect(isDockerIgnored(entry, dockerignore)).toBe(true);
    },
  );
  test.each(['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'scripts/prisma-generate.mjs', 'packages/testing/package.json', 'services/user-service/src/main.ts', 'services/order-service/prisma/schema.prisma'])(
    'keeps %s',
    (entry) => {
      expect(isDockerIgnored(entry, dockerignore)).toBe(false);
    },
  );
});

// The checks above are only worth something if they reject a bad image: run them on broken variants.
describe('the checks fail on a broken Dockerfile', () => {
  const good = read('services/user-service/Dockerfile');
  const contract = { service: 'user-service', port: 3001, workspaces };
  const problemsWith = (from: string | RegExp, to: string) => {
    const broken = good.replace(from, to);
    expect(broken).not.toBe(good);
    return imageProblems(broken, contract).join('\n');
  };

  test.each([
    ['a floating base image', /ARG NODE_VERSION=.*/, 'ARG NODE_VERSION=latest', /floating tag/],
    ['a floating base image without ARG', /FROM node:\$\{NODE_VERSION\}-bookworm-slim AS runtime/, 'FROM node:lts-slim AS runtime', /floating tag/],
    ['another Node major', /ARG NODE_VERSION=.*/, 'ARG NODE_VERSION=22.11.0', /Node 24/],
    ['an untagged base image', /FROM node:\$\{NODE_VERSION\}-bookworm-slim AS build/, 'FROM node AS build', /not pinned/],
    ['a single stage', /FROM node:\$\{NODE_VERSION\}-bookworm-slim AS runtime\n/, '', /multi-stage|production dependencies/],
    ['root', 'USER 10001:10001', 'USER root', /numeric non-zero UID/],
    ['UID 0', 'USER 10001:10001', 'USER 0', /numeric non-zero UID/],
    ['no USER', 'USER 10001:10001', '', /no USER/],
    ['the wrong port', 'EXPOSE 3001', 'EXPOSE 3002', /EXPOSE 3002, expected 3001/],
    ['shell-form CMD', /CMD \[.*\]/, 'CMD node --import @switchyard/telemetry/register dist/main.js', /exec form/],
    ['npm start as PID 1', /CMD \[.*\]/, 'CMD ["npm", "start"]', /run node directly/],
    ['no telemetry preload', /CMD \[.*\]/, 'CMD ["node", "dist/main.js"]', /preload/],
    ['a missing license label', /\s+org\.opencontainers\.image\.licenses="Apache-2\.0" \\/, '', /licenses missing/],
    ['dev dependencies in the image', /npm ci --omit=dev/, 'npm ci', /production dependencies only/],
    ['node_modules copied from the build stage', /(COPY --from=build \/app\/services\/user-service\/dist)/, 'COPY --from=build /app/node_modules node_modules\n$1', /copies node_modules/],
    ['npm install', /npm ci --ignore-scripts\n/, 'npm install\n', /npm install/],
    ['sources before npm ci', /(COPY package\.json package-lock\.json \.npmrc \.\/\n)/, '$1COPY packages/telemetry packages/telemetry\n', /before npm ci: no layer caching/],
    // String replace: the first occurrence, the build stage's.
    ['a missing workspace manifest', 'COPY e2e/package.json e2e/\n', '', /build stage: e2e\/package\.json not copied/],
    ['bins copied after npm ci', /COPY packages\/db-migrate\/bin packages\/db-migrate\/bin\n/, '', /db-migrate\/bin must be copied/],
    ['no prisma directory', /COPY services\/user-service\/prisma services\/user-service\/prisma\n/, '', /prisma \(schema and migrations\)/],
    ['a writable HOME', 'HOME=/tmp', 'HOME=/home/node', /HOME=\/tmp/],
    ['another working directory', 'WORKDIR /app/services/user-service', 'WORKDIR /app', /WORKDIR \/app, expected/],
  ])('%s', (_name, from, to, expected) => {
    expect(problemsWith(from, to)).toMatch(expected);
  });

  test('the operator\'s contract (no database) still catches a missing workspace manifest and a missing dist/', () => {
    const operator = read('services/topology-operator/Dockerfile');
    const operatorContract = { service: 'topology-operator', port: 8080, workspaces, prisma: false, telemetryPreload: false };
    expect(imageProblems(operator, operatorContract)).toEqual([]);
    const withoutManifest = operator.replace('COPY services/user-service/package.json services/user-service/\n', '');
    expect(imageProblems(withoutManifest, operatorContract).join('\n')).toMatch(/services\/user-service\/package\.json not copied/);
    const withoutDist = operator.replace(/COPY --from=build \/app\/services\/topology-operator\/dist .*\n/, '');
    expect(withoutDist).not.toBe(operator);
    expect(imageProblems(withoutDist, operatorContract).join('\n')).toMatch(/services\/topology-operator\/dist must be copied/);
  });

  test('a .dockerignore that lets node_modules and .git in is caught', () => {
    expect(isDockerIgnored('node_modules', '# nothing\ndist\n')).toBe(false);
    expect(isDockerIgnored('.git', 'node_modules\n')).toBe(false);
    expect(isDockerIgnored('node_modules/x', '**/node_modules\n!node_modules\n')).toBe(false);
  });
});
