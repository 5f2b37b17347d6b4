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
  'packages/contracts',
  'packages/db-migrate',
  'packages/messaging',
  'packages/service-kit',
  'packages/telemetry',
  'services/user-service',
  'services/order-service',
  'services/topology-operator',
  'e2e',
  'k8s',
];

const repoRoot = new URL('.', import.meta.url).pathname;

/** @type {import('jest').Config} */
export default {
  projects: workspaces.map((dir) => ({
    displayName: dir.split('/').at(-1),
    rootDir: `${repoRoot}${dir}`,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: { '^.+\\.ts$': swc },
    // Sources import siblings as `./x.js` (Node ESM); jest resolves the `.ts` file behind it.
    moduleNameMapper: {
      '^(\\.{1,2}/.*)\\.js$': '$1',
      '^@switchyard/([^/]+)$': `${repoRoot}packages/$1/src/index.ts`,
    },
    testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  })),
};
