import { describe, expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  type BuildArgs,
  contextSources,
  execForm,
  imageProblems,
  isDockerIgnored,
  keyValues,
  parseDockerfile,
  resolveDockerfile,
  type ServiceImageContract,
} from './dockerfile.js';

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

/** The one Dockerfile of both services; the build args say which service. */
const SERVICE_DOCKERFILE = 'services/service.Dockerfile';
const OPERATOR_DOCKERFILE = 'services/topology-operator/Dockerfile';

interface SkaffoldArtifact {
  image: string;
  docker?: { dockerfile?: string; buildArgs?: Record<string, string> };
}
const artifacts = (parse(read('skaffold.yaml')) as { build: { artifacts: SkaffoldArtifact[] } }).build.artifacts;

/** The Dockerfile and build args skaffold.yaml builds an image with (`npm run images` reads the same). */
function buildOf(service: string): { dockerfile: string; buildArgs: BuildArgs } {
  const artifact = artifacts.find((a) => a.image === `switchyard/${service}`);
  if (!artifact) throw new Error(`skaffold.yaml builds no switchyard/${service}`);
  return { dockerfile: artifact.docker?.dockerfile ?? 'Dockerfile', buildArgs: artifact.docker?.buildArgs ?? {} };
}

describe.each(images)('image switchyard/$service', ({ service, port, configFile, ...flags }) => {
  const { dockerfile, buildArgs } = buildOf(service);
  const text = read(dockerfile);
  const contract = { service, port, workspaces, ...flags };

  test('keeps the image contract with its build args (pinned multi-stage build, prod deps only, non-root, exec-form node, port, labels)', () => {
    expect(imageProblems(text, contract, buildArgs)).toEqual([]);
  });

  test('the port is the one the service listens on by default and the one its chart sets', () => {
    // The config file states the default port; the image must EXPOSE the same one, and the chart run it there.
    expect(read(`services/${service}/${configFile}`)).toMatch(new RegExp(`\\b${port}\\b`));
    expect((parse(read(`charts/${service}/values.yaml`)) as { port: number }).port).toBe(port);
  });

  test('runs exactly what `npm start` runs, node as PID 1 (services: `node --import @switchyard/telemetry/register dist/main.js`)', () => {
    const final = resolveDockerfile(text, buildArgs).stages.at(-1)!;
    const cmd = final.instructions.filter((i) => i.keyword === 'CMD').at(-1)!;
    const pkg = JSON.parse(read(`services/${service}/package.json`)) as { scripts: { start: string } };
    expect(execForm(cmd.args)?.join(' ')).toBe(pkg.scripts.start);
  });

  test('everything it copies from the context exists and is not excluded by .dockerignore', () => {
    const sources = contextSources(text, buildArgs);
    expect(sources.length).toBeGreaterThan(10);
    for (const source of sources) {
      expect({ source, exists: existsSync(path.join(repoRoot, source)) }).toEqual({ source, exists: true });
      expect({ source, ignored: isDockerIgnored(source, dockerignore) }).toEqual({ source, ignored: false });
    }
  });
});

describe.each(databaseServices)('image switchyard/$service (a service with a database)', ({ service, port }) => {
  test('is built from the one service Dockerfile, with its workspace and port as build args', () => {
    const { dockerfile, buildArgs } = buildOf(service);
    expect(dockerfile).toBe(SERVICE_DOCKERFILE);
    expect(buildArgs).toMatchObject({ SERVICE: service, PORT: String(port) });
    expect(buildArgs['DESCRIPTION']).toMatch(new RegExp(`^Switchyard ${service}: `));
  });

  test('the migration CLI the Job runs with npx is a bin of a workspace the service depends on', () => {
    const db = JSON.parse(read('packages/db-migrate/package.json')) as { name: string; bin: Record<string, string> };
    const pkg = JSON.parse(read(`services/${service}/package.json`)) as { dependencies: Record<string, string> };
    expect(db.bin['switchyard-migrate']).toBe('./bin/switchyard-migrate.js');
    expect(pkg.dependencies[db.name]).toBeDefined();
    expect(existsSync(path.join(repoRoot, `services/${service}/prisma/schema.prisma`))).toBe(true);
    expect(existsSync(path.join(repoRoot, `services/${service}/prisma/migrations`))).toBe(true);
  });
});

describe(SERVICE_DOCKERFILE, () => {
  const text = read(SERVICE_DOCKERFILE);

  test('names no service and no port itself (only the workspace manifests npm ci needs): the build args do', () => {
    const named = parseDockerfile(text)
      .stages.flatMap((stage) => stage.instructions)
      .filter((i) => !(i.keyword === 'COPY' && /^services\/[a-z-]+\/package\.json /.test(i.args)))
      .filter((i) => /user-service|order-service|topology-operator|\b300[12]\b|\b8080\b/.test(i.args))
      .map((i) => `line ${i.line}: ${i.keyword} ${i.args}`);
    expect(named).toEqual([]);
  });

  test('without build args it keeps no service contract (it never quietly builds one service)', () => {
    const problems = imageProblems(text, { service: 'user-service', port: 3001, workspaces }).join('\n');
    expect(problems).toMatch(/WORKDIR \/app\/services\/\$\{SERVICE\}, expected/);
    expect(problems).toMatch(/EXPOSE \$\{PORT\}, expected 3001/);
  });
});

describe(OPERATOR_DOCKERFILE, () => {
  test('is built on the same pinned Node as the services', () => {
    const nodeVersion = (file: string) => parseDockerfile(read(file)).globalArgs.get('NODE_VERSION');
    expect(nodeVersion(OPERATOR_DOCKERFILE)).toBe(nodeVersion(SERVICE_DOCKERFILE));
  });

  // Its header says why it is a file of its own: what a service without a database leaves out cannot be a build arg.
  // Everything else must stay as in the services' image, instruction for instruction.
  test('is the service Dockerfile without the Prisma, migration-CLI and telemetry steps, and otherwise the same', () => {
    const operator = resolveDockerfile(read(OPERATOR_DOCKERFILE));
    const labels = new Map(operator.stages.at(-1)!.instructions.filter((i) => i.keyword === 'LABEL').flatMap((i) => [...keyValues(i.args)]));
    const asOperator = resolveDockerfile(read(SERVICE_DOCKERFILE), {
      SERVICE: 'topology-operator',
      PORT: 8080,
      DESCRIPTION: labels.get('org.opencontainers.image.description')!,
    });
    /** Instructions only the services' image has. */
    const serviceOnly = [
      /^ARG (SERVICE|PORT|DESCRIPTION)\b/, // the build args (the operator's file states its own)
      /^COPY scripts\/prisma-generate\.mjs /, // Prisma client generation
      /^COPY packages\/(db-migrate|messaging)\/bin /, // the CLIs' bins (the migration Job's npx)
      /^COPY services\/topology-operator\/prisma /, // schema and migrations
      /^COPY (--from=build \/app\/)?packages\/auth(\/dist)? /, // tokens: the operator serves no API
    ];
    /** Parts of an instruction only the services' image has. */
    const serviceOnlyParts: Array<[RegExp, string]> = [
      [/: "[^"]*"(?: "[^"]*")* && /, ''], // the shell's check that PORT is set
      [/cd services\/\S+ && node \.\.\/\.\.\/scripts\/prisma-generate\.mjs && cd \/app && /, ''],
      [/"--import", "@switchyard\/telemetry\/register", /, ''],
    ];
    const shape = (dockerfile: ReturnType<typeof resolveDockerfile>) =>
      dockerfile.stages.map((stage) => ({
        from: stage.from,
        name: stage.name,
        instructions: stage.instructions
          .map((i) => `${i.keyword} ${i.args}`)
          .filter((line) => !serviceOnly.some((pattern) => pattern.test(line)))
          .map((line) => serviceOnlyParts.reduce((trimmed, [part, by]) => trimmed.replace(part, by), line)),
      }));
    expect(shape(operator)).toEqual(shape(asOperator));
  });
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
  const good = read(SERVICE_DOCKERFILE);
  const contract = { service: 'user-service', port: 3001, workspaces };
  const { buildArgs } = buildOf('user-service');
  const problemsWith = (from: string | RegExp, to: string) => {
    const broken = good.replace(from, to);
    expect(broken).not.toBe(good);
    return imageProblems(broken, contract, buildArgs).join('\n');
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
    ['the wrong port', 'EXPOSE ${PORT}', 'EXPOSE 3002', /EXPOSE 3002, expected 3001/],
    ['a fixed PORT in the environment', 'PORT=${PORT}', 'PORT=3002', /ENV PORT=3002, expected PORT=3001/],
    ['a build arg the runtime stage does not declare', 'ARG SERVICE\nARG PORT\n', 'ARG PORT\n', /WORKDIR \/app\/services\/\$\{SERVICE\}, expected/],
    ['a fixed service in the title', 'title="switchyard/${SERVICE}"', 'title="switchyard/order-service"', /title switchyard\/order-service, expected switchyard\/user-service/],
    ['a literal version label', 'version="${VERSION}"', 'version="0.1.0"', /version must come from a build ARG/],
    ['shell-form CMD', /CMD \[.*\]/, 'CMD node --import @switchyard/telemetry/register dist/main.js', /exec form/],
    ['npm start as PID 1', /CMD \[.*\]/, 'CMD ["npm", "start"]', /run node directly/],
    ['no telemetry preload', /CMD \[.*\]/, 'CMD ["node", "dist/main.js"]', /preload/],
    ['a missing license label', /\s+org\.opencontainers\.image\.licenses="Apache-2\.0" \\/, '', /licenses missing/],
    ['dev dependencies in the image', /npm ci --omit=dev/, 'npm ci', /production dependencies only/],
    ['node_modules copied from the build stage', /(COPY --from=build \/app\/services\/\$\{SERVICE\}\/dist)/, 'COPY --from=build /app/node_modules node_modules\n$1', /copies node_modules/],
    ['npm install', /npm ci --ignore-scripts\n/, 'npm install\n', /npm install/],
    ['sources before npm ci', /(COPY package\.json package-lock\.json \.npmrc \.\/\n)/, '$1COPY packages/telemetry packages/telemetry\n', /before npm ci: no layer caching/],
    // String replace: the first occurrence, the build stage's.
    ['a missing workspace manifest', 'COPY e2e/package.json e2e/\n', '', /build stage: e2e\/package\.json not copied/],
    ['bins copied after npm ci', /COPY packages\/db-migrate\/bin packages\/db-migrate\/bin\n/, '', /db-migrate\/bin must be copied/],
    ['no prisma directory', /COPY services\/\$\{SERVICE\}\/prisma services\/\$\{SERVICE\}\/prisma\n/, '', /prisma \(schema and migrations\)/],
    ['a writable HOME', 'HOME=/tmp', 'HOME=/home/node', /HOME=\/tmp/],
    ['another working directory', 'WORKDIR /app/services/${SERVICE}', 'WORKDIR /app', /WORKDIR \/app, expected/],
  ])('%s', (_name, from, to, expected) => {
    expect(problemsWith(from, to)).toMatch(expected);
  });

  test.each([
    ['the other service\'s port', { PORT: '3002' }, /EXPOSE 3002, expected 3001/],
    ['the other service', { SERVICE: 'order-service' }, /WORKDIR \/app\/services\/order-service, expected \/app\/services\/user-service/],
    ['no SERVICE', { SERVICE: undefined }, /tsc -b services\/user-service expected/],
  ])('build args with %s', (_name, change, expected) => {
    const args = Object.fromEntries(Object.entries({ ...buildArgs, ...change }).filter(([, value]) => value !== undefined)) as BuildArgs;
    expect(imageProblems(good, contract, args).join('\n')).toMatch(expected);
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
