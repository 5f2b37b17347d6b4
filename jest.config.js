// One jest run covers every workspace: each is a project, transformed by SWC (TypeScript 7 has no
// JS API for ts-jest) and run as native ES modules, like the services themselves.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2024',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'es6' },
  },
];

const workspaces = [
  'packages/auth',
  'packages/cli',
  'packages/contracts',
  'packages/db-migrate',
  'packages/messaging',
  'packages/service-kit',
  'packages/telemetry',
  'packages/testing',
  'services/user-service',
  'services/order-service',
  'services/topology-operator',
  'e2e',
  'k8s',
];

const repoRoot = new URL('.', import.meta.url).pathname;

const project = (displayName, rootDir, testMatch) => ({
  displayName,
  rootDir,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  // Sources import siblings as `./x.js` (Node ESM); jest resolves the `.ts` file behind it.
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^@switchyard/([^/]+)$': `${repoRoot}packages/$1/src/index.ts`,
    // Subpath entry points: the operator's API types, and a package's `<name>/<subpath>` as `src/<subpath>/index.ts`.
    '^@switchyard/topology-operator/api$': `${repoRoot}services/topology-operator/src/api/v1alpha1/index.ts`,
    '^@switchyard/([^/]+)/([^/]+)$': `${repoRoot}packages/$1/src/$2/index.ts`,
  },
  testMatch,
});

/** @type {import('jest').Config} */
export default {
  // Integration hooks start apps, databases and brokers: jest's 5 s default is too tight for a 2-core machine that
  // also runs an API server. Tests that need longer still say so.
  testTimeout: 30_000,
  projects: [
    ...workspaces.map((dir) =>
      project(dir.split('/').at(-1), `${repoRoot}${dir}`, [
        '<rootDir>/src/**/*.spec.ts',
        '<rootDir>/test/**/*.spec.ts',
        '<rootDir>/test/**/*.e2e-spec.ts',
        // The soak's own unit tests (its pass/fail verdict); the soak itself runs as `npm run soak`.
        ...(dir === 'e2e' ? ['<rootDir>/soak/**/*.spec.ts'] : []),
      ]),
    ),
    // Fault injection (e2e/faults): private broker and database, minutes long, run alone and serially after the
    // rest (`npm run test:faults`, and the last step of `npm test`); `--ignoreProjects faults` leaves it out.
    project('faults', `${repoRoot}e2e`, ['<rootDir>/faults/**/*.fault-spec.ts']),
    // The built images (e2e/containers) run as the pods run them: needs a Docker engine and `npm run images` first, so
    // `npm run test:images` runs it on its own and `npm test` leaves it out (`--ignoreProjects containers`).
    project('containers', `${repoRoot}e2e`, ['<rootDir>/containers/**/*.container-spec.ts']),
  ],
};
