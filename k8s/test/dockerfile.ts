// A small Dockerfile reader and the checks the service images must pass. Kept apart from the spec so the spec can
// run the same checks on broken Dockerfiles and prove they fail.

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space (build args substituted once resolved). */
  args: string;
  /** `args` as written, before `resolveDockerfile` substituted the build args. */
  written?: string;
  /** 1-based line the instruction starts on. */
  line: number;
}

export interface Stage {
  /** Image reference as written (ARGs substituted once resolved). */
  from: string;
  /** `AS name`, if any. */
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** `ARG name=default` before the first FROM (the only ARGs a FROM line can use). */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

/** Parses the instruction structure: comments dropped, `\` continuations joined, heredocs not supported. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment lines (also inside a continued instruction, where Docker drops them too) and blank lines.
    if (trimmed.startsWith('#') || (trimmed === '' && !pending)) return;
    if (trimmed === '') return;
    const continued = trimmed.endsWith('\\');
    const content = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (pending) pending.parts.push(content);
    else pending = { parts: [content], line: index + 1 };
    if (!continued) {
      instructions.push(toInstruction(pending.parts.join(' '), pending.line));
      pending = undefined;
    }
  });
  if (pending) instructions.push(toInstruction(pending.parts.join(' '), pending.line));

  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const tokens = instruction.args.split(/\s+/).filter((token) => !token.startsWith('--'));
      const asIndex = tokens.findIndex((token) => token.toUpperCase() === 'AS');
      const name = asIndex >= 0 ? tokens[asIndex + 1] : undefined;
      stages.push({ from: tokens[0] ?? '', ...(name ? { name } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [key, value] = argDeclaration(instruction.args);
        globalArgs.set(key, value);
      }
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function toInstruction(source: string, line: number): Instruction {
  const match = /^(\S+)\s*(.*)$/.exec(source);
  return { keyword: (match?.[1] ?? '').toUpperCase(), args: (match?.[2] ?? '').trim(), line };
}

function unquote(value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
}

/** `ARG NAME=default` / `ARG NAME` as [name, default]. */
function argDeclaration(args: string): [string, string | undefined] {
  const [key, ...value] = args.split('=');
  return [key!.trim(), value.length > 0 ? unquote(value.join('=').trim()) : undefined];
}

/**
 * `${NAME}` / `$NAME` replaced by the value of NAME in `args`; names without a value stay as written. Also the
 * shell's `${NAME:?message}` and `${NAME:-default}` (RUN lines use them), which a set NAME replaces the same way.
 */
export function substituteArgs(value: string, args: Map<string, string | undefined>): string {
  return value.replace(
    /\$\{(\w+)(?::?[-?+][^}]*)?\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const found = args.get((braced ?? bare)!);
      return found ?? whole;
    },
  );
}

/** Build args as `docker build --build-arg NAME=value` (and skaffold's `buildArgs`) pass them. */
export type BuildArgs = Readonly<Record<string, string | number>>;

/**
 * The Dockerfile as a build with these build args reads it, with Docker's scoping: a FROM line sees the global ARGs
 * (before the first FROM), an instruction inside a stage only the ARGs that stage declared above it. An ARG's value
 * is the build arg if given, else its default, else the global ARG's; a name with no value (or not declared in the
 * stage) stays as written, so the checks see `${NAME}` and fail. RUN lines are substituted too, as the shell expands
 * the ARGs it gets as environment; CMD and ENTRYPOINT are not (Docker substitutes nothing in them, and no ARG
 * reaches the running container). `written` keeps each instruction's text before substitution.
 */
export function resolveDockerfile(text: string, buildArgs: BuildArgs = {}): Dockerfile {
  const parsed = parseDockerfile(text);
  const given = new Map(Object.entries(buildArgs).map(([key, value]) => [key, String(value)]));
  const globalArgs = new Map([...parsed.globalArgs].map(([key, value]) => [key, given.get(key) ?? value]));
  const stages = parsed.stages.map((stage) => {
    const scope = new Map<string, string | undefined>();
    const instructions = stage.instructions.map((instruction) => {
      if (instruction.keyword === 'ARG') {
        const [key, value] = argDeclaration(instruction.args);
        scope.set(key, given.get(key) ?? (value === undefined ? globalArgs.get(key) : substituteArgs(value, scope)));
        return instruction;
      }
      if (instruction.keyword === 'CMD' || instruction.keyword === 'ENTRYPOINT') return instruction;
      return { ...instruction, args: substituteArgs(instruction.args, scope), written: instruction.args };
    });
    return { ...stage, from: substituteArgs(stage.from, globalArgs), instructions };
  });
  return { globalArgs, stages };
}

/** Exec form (`["node", "x"]`) as an argv array; undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `KEY="value" KEY2=value` pairs of LABEL / ENV instructions (modern `=` form only). */
export function keyValues(args: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const match of args.matchAll(/([\w.\-/]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S+)/g)) {
    pairs.set(match[1]!, unquote(match[2]!));
  }
  return pairs;
}

/** Docker's .dockerignore semantics, enough for our patterns: `**`, `*`, `?`, `!` exceptions, last match wins. */
export function isDockerIgnored(path: string, dockerignore: string): boolean {
  const rules = dockerignore
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, regex: globToRegex(pattern) };
    });
  // A path is excluded when it or one of its parent directories matches.
  const segments = path.replace(/^\.?\/+/, '').split('/');
  let ignored = false;
  for (const rule of rules) {
    for (let i = 1; i <= segments.length; i += 1) {
      if (rule.regex.test(segments.slice(0, i).join('/'))) {
        ignored = !rule.negate;
        break;
      }
    }
  }
  return ignored;
}

function globToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more directories.
      source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export interface ServiceImageContract {
  /** Workspace directory name, e.g. `user-service`. */
  service: string;
  port: number;
  /** Directories (relative to the repository root) holding an npm workspace. */
  workspaces: string[];
  /**
   * The workspace has a database: Prisma client generated in the build, schema and migrations in the image, the
   * migration CLI linked and npx usable on a read-only root. Default true; the topology operator has none.
   */
  prisma?: boolean;
  /** node preloads `@switchyard/telemetry/register` (tracing). Default true; the operator does not trace. */
  telemetryPreload?: boolean;
}

const TELEMETRY_PRELOAD = '@switchyard/telemetry/register';

/** Every way the Dockerfile, built with these build args, breaks the image contract; empty when it keeps it. */
export function imageProblems(text: string, contract: ServiceImageContract, buildArgs: BuildArgs = {}): string[] {
  const problems: string[] = [];
  const { stages } = resolveDockerfile(text, buildArgs);
  const { service, port } = contract;
  const prisma = contract.prisma ?? true;
  const telemetryPreload = contract.telemetryPreload ?? true;
  if (stages.length < 2) problems.push(`multi-stage build expected, found ${stages.length} FROM`);

  const stageNames = new Set<string>();
  for (const stage of stages) {
    const image = stage.from;
    if (stageNames.has(image)) {
      // FROM <earlier stage>: pinned by that stage.
    } else if (image.includes('$')) {
      problems.push(`FROM ${stage.from}: ARG without a default`);
    } else if (!image.includes('@sha256:')) {
      const tag = /:([^/:@]+)$/.exec(image)?.[1];
      if (!tag) problems.push(`FROM ${image}: not pinned (no tag)`);
      // `latest`, `lts`, `current` alone or as the version part (`latest-bookworm-slim`, `lts-slim`) move under us.
      else if (/^(latest|lts|current)(-|$)/.test(tag) || /-latest$/.test(tag)) problems.push(`FROM ${image}: floating tag`);
      else if (image.startsWith('node:') && !/^24\.\d+/.test(tag)) problems.push(`FROM ${image}: Node 24 with a minor version expected`);
    }
    if (stage.name) stageNames.add(stage.name);
  }

  const final = stages.at(-1);
  if (!final) return problems;
  const last = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword).at(-1);
  const all = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword);

  const user = last('USER')?.args;
  const [uid, gid] = (user ?? '').split(':');
  if (!user) problems.push('final stage: no USER (runs as root)');
  else if (!/^\d+$/.test(uid!) || Number(uid) === 0) problems.push(`final stage: USER ${user} is not a numeric non-zero UID`);
  else if (gid !== undefined && (!/^\d+$/.test(gid) || Number(gid) === 0)) problems.push(`final stage: USER ${user}: numeric non-zero GID expected`);

  const exposed = all('EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => p.replace(/\/tcp$/, ''));
  if (exposed.join(' ') !== String(port)) problems.push(`final stage: EXPOSE ${exposed.join(' ') || '(none)'}, expected ${port}`);

  const workdir = last('WORKDIR')?.args;
  if (workdir !== `/app/services/${service}`) problems.push(`final stage: WORKDIR ${workdir ?? '(none)'}, expected /app/services/${service}`);

  const entrypoint = last('ENTRYPOINT');
  const cmd = last('CMD');
  const entryArgv = entrypoint ? execForm(entrypoint.args) : [];
  const cmdArgv = cmd ? execForm(cmd.args) : [];
  if (!entryArgv || !cmdArgv) problems.push('final stage: CMD/ENTRYPOINT must use the exec form (JSON array)');
  else {
    const argv = [...entryArgv, ...cmdArgv];
    const nodeAt = argv.findIndex((arg) => arg === 'node' || arg.endsWith('/node'));
    // tini or dumb-init may wrap node; nothing else may (a shell would swallow SIGTERM).
    const wrappers = argv.slice(0, Math.max(nodeAt, 0)).filter((arg) => !/(^|\/)(tini|dumb-init)$/.test(arg) && arg !== '--');
    const preload = argv.findIndex((arg, i) => (arg === '--import' && argv[i + 1] === TELEMETRY_PRELOAD) || arg === `--import=${TELEMETRY_PRELOAD}`);
    if (nodeAt < 0 || wrappers.length > 0) problems.push(`final stage: the command must run node directly, got ${JSON.stringify(argv)}`);
    if (telemetryPreload && preload < 0) problems.push(`final stage: node must preload ${TELEMETRY_PRELOAD} with --import`);
    if (argv.at(-1) !== 'dist/main.js') problems.push(`final stage: the command must end with dist/main.js, got ${JSON.stringify(argv)}`);
  }

  const stopSignal = last('STOPSIGNAL')?.args;
  if (stopSignal !== undefined && stopSignal !== 'SIGTERM') problems.push(`final stage: STOPSIGNAL ${stopSignal}, the app handles SIGTERM`);

  const labels = new Map(all('LABEL').flatMap((i) => [...keyValues(i.args)]));
  for (const key of ['title', 'description', 'source', 'licenses', 'version']) {
    if (!labels.get(`org.opencontainers.image.${key}`)) problems.push(`final stage: label org.opencontainers.image.${key} missing`);
  }
  if (labels.has('org.opencontainers.image.licenses') && labels.get('org.opencontainers.image.licenses') !== 'Apache-2.0') {
    problems.push('final stage: org.opencontainers.image.licenses must be Apache-2.0');
  }
  const title = labels.get('org.opencontainers.image.title');
  if (title && title !== `switchyard/${service}`) problems.push(`final stage: org.opencontainers.image.title ${title}, expected switchyard/${service}`);
  // As written, not resolved: the version must be a build ARG's value, not a literal.
  const writtenLabels = new Map(all('LABEL').flatMap((i) => [...keyValues(i.written ?? i.args)]));
  const version = writtenLabels.get('org.opencontainers.image.version') ?? '';
  const versionArg = /^\$\{?(\w+)\}?$/.exec(version)?.[1];
  if (version && (!versionArg || !all('ARG').some((i) => i.args.split('=')[0] === versionArg))) {
    problems.push('final stage: org.opencontainers.image.version must come from a build ARG declared in the stage');
  }

  const env = new Map(all('ENV').flatMap((i) => [...keyValues(i.args)]));
  if (env.get('PORT') !== String(port)) problems.push(`final stage: ENV PORT=${env.get('PORT') ?? '(none)'}, expected PORT=${port} (the port it EXPOSEs)`);
  if (env.get('HOME') !== '/tmp') problems.push('final stage: HOME=/tmp expected (read-only root filesystem)');
  if (prisma && !env.get('NPM_CONFIG_CACHE')?.startsWith('/tmp/')) problems.push('final stage: NPM_CONFIG_CACHE under /tmp expected (npx in the migration Job)');

  // Dependencies: npm ci everywhere; the final stage installs production dependencies only and takes no
  // node_modules from a stage that had dev dependencies.
  const runs = stages.flatMap((stage) => stage.instructions.filter((i) => i.keyword === 'RUN'));
  if (!runs.some((i) => /\bnpm ci\b/.test(i.args))) problems.push('no `npm ci` (lockfile-exact install)');
  if (runs.some((i) => /\bnpm (install|i)\b/.test(i.args))) problems.push('`npm install` used: it may rewrite the lockfile, use npm ci');
  const finalInstall = all('RUN').find((i) => /\bnpm ci\b/.test(i.args));
  const prunes = all('RUN').some((i) => /\bnpm prune\b.*--omit[= ]dev/.test(i.args));
  if (!prunes && (!finalInstall || !/--omit[= ]dev\b/.test(finalInstall.args))) {
    problems.push('final stage: production dependencies only expected (npm ci --omit=dev or npm prune --omit=dev)');
  }
  const copies = all('COPY');
  if (copies.some((i) => /--from=/.test(i.args) && /node_modules/.test(i.args)) && !prunes) {
    problems.push('final stage: copies node_modules from another stage (dev dependencies would leak in)');
  }
  if (finalInstall) {
    // npm skips linking a bin whose target does not exist yet: the CLIs must be in place before npm ci.
    const before = copies.filter((i) => i.line < finalInstall.line).map((i) => i.args);
    if (prisma && !before.some((args) => args.startsWith('packages/db-migrate/bin'))) {
      problems.push('final stage: packages/db-migrate/bin must be copied before npm ci, or node_modules/.bin/switchyard-migrate is not linked');
    }
    for (const workspace of contract.workspaces) {
      if (!before.some((args) => args.startsWith(`${workspace}/package.json`))) problems.push(`final stage: ${workspace}/package.json not copied before npm ci`);
    }
  }
  if (prisma && !copies.some((i) => new RegExp(`services/${service}/prisma\\s+services/${service}/prisma$`).test(i.args))) {
    problems.push(`final stage: services/${service}/prisma (schema and migrations) must be in the image`);
  }
  if (!copies.some((i) => /--from=/.test(i.args) && i.args.endsWith(`services/${service}/dist`))) {
    problems.push(`final stage: services/${service}/dist must be copied from the build stage`);
  }
  for (const pkg of ['telemetry', 'db-migrate', 'service-kit', 'contracts', 'messaging']) {
    if (!copies.some((i) => /--from=/.test(i.args) && i.args.endsWith(`packages/${pkg}/dist`))) problems.push(`final stage: packages/${pkg}/dist missing`);
  }

  // The build stage: every workspace manifest before npm ci, then the Prisma client and the TypeScript build.
  const build = stages.find((stage) => stage.instructions.some((i) => i.keyword === 'RUN' && /\btsc\b.*-b/.test(i.args)));
  if (!build) problems.push('no build stage running `tsc -b`');
  else {
    const buildRuns = build.instructions.filter((i) => i.keyword === 'RUN');
    if (!buildRuns.some((i) => new RegExp(`tsc -b services/${service}\\b`).test(i.args))) problems.push(`build stage: tsc -b services/${service} expected`);
    if (prisma && !buildRuns.some((i) => /prisma-generate\.mjs/.test(i.args))) problems.push('build stage: scripts/prisma-generate.mjs (Prisma client) expected');
    const install = buildRuns.find((i) => /\bnpm ci\b/.test(i.args));
    const firstSource = build.instructions.find((i) => i.keyword === 'COPY' && !/package(-lock)?\.json|\.npmrc/.test(i.args));
    if (!install) problems.push('build stage: npm ci expected');
    else {
      if (firstSource && firstSource.line < install.line) problems.push(`build stage: sources copied (line ${firstSource.line}) before npm ci: no layer caching`);
      for (const workspace of contract.workspaces) {
        const copied = build.instructions.some((i) => i.keyword === 'COPY' && i.line < install.line && i.args.startsWith(`${workspace}/package.json`));
        if (!copied) problems.push(`build stage: ${workspace}/package.json not copied before npm ci`);
      }
    }
  }
  return problems;
}

/** Sources (build context paths) of the COPY/ADD instructions that read the context, not another stage. */
export function contextSources(text: string, buildArgs: BuildArgs = {}): string[] {
  return resolveDockerfile(text, buildArgs)
    .stages.flatMap((stage) => stage.instructions)
    .filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !/--from=/.test(i.args))
    .flatMap((i) => {
      const tokens = i.args.split(/\s+/).filter((token) => !token.startsWith('--'));
      return tokens.slice(0, -1);
    });
}
