#!/usr/bin/env node
// `npm run images`: builds the three images from their real Dockerfiles, with the repository root as context:
//   switchyard/user-service, switchyard/order-service, switchyard/topology-operator, each tagged :dev and :<git sha>.
// What to build is skaffold.yaml's build.artifacts: each image's Dockerfile and build args (both services come from
// services/service.Dockerfile with SERVICE, PORT and DESCRIPTION), so these images are the ones skaffold would
// build; only VERSION (the root package.json's) and REVISION (the commit) are set here.
// First makes the pinned Node base image (node:<NODE_VERSION>-bookworm-slim, read from the Dockerfiles) when the
// engine does not have it: no registry is reachable on CI machines, so scripts/images/build-base-image.sh builds it
// from Debian's mirror and npm. Shows each Dockerfile step as it finishes, the time per image and the sizes at the
// end; a failed build names the image and the Dockerfile step, with that step's last output lines.
//
//   npm run images                       all three
//   npm run images -- user-service       only the ones named
// Needs a Docker engine (bash scripts/docker/ensure-engine.sh starts one) with BuildKit, and `npm ci` done (it reads
// skaffold.yaml with the `yaml` package). Full build logs go to ~/.cache/switchyard/images/logs/<image>.log.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';

const root = new URL('../..', import.meta.url).pathname;
/** One image build, cold (npm ci from the registry, tsc): about 3 minutes here; 20 means something hangs. */
const BUILD_DEADLINE_MS = Number(process.env.SWITCHYARD_IMAGE_BUILD_DEADLINE_MS ?? 20 * 60_000);
/** Making the base image: debootstrap (~30 s) and two npm tarballs; 20 minutes means the mirror does not answer. */
const BASE_DEADLINE_MS = 20 * 60_000;
const cacheDir = join(process.env.SWITCHYARD_CACHE_DIR ?? join(homedir(), '.cache', 'switchyard'), 'images');
const logDir = join(cacheDir, 'logs');

function fail(message) {
  console.error(`images: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 60_000, ...options });
}

/**
 * A client that builds with BuildKit: one with the buildx plugin (Docker 23+ needs it for DOCKER_BUILDKIT=1), or a
 * 20.10 client (Debian's docker.io, /usr/bin/docker) whose classic `build` talks to the engine's BuildKit itself.
 */
function pickDockerClient() {
  const candidates = [process.env.SWITCHYARD_DOCKER, '/usr/bin/docker', 'docker'].filter(Boolean);
  let engineAnswered = false;
  for (const client of candidates) {
    const info = run(client, ['version', '--format', '{{.Client.Version}} {{.Server.Version}}']);
    if (info.error) continue;
    const [clientVersion, serverVersion] = info.stdout.trim().split(' ');
    if (!serverVersion || info.status !== 0) continue;
    engineAnswered = true;
    const buildx = run(client, ['buildx', 'version']).status === 0;
    if (buildx || Number(clientVersion.split('.')[0]) < 23) return { client, clientVersion, serverVersion };
  }
  if (!engineAnswered)
    fail('no Docker engine answers; fix: bash scripts/docker/ensure-engine.sh (as root), or start your Docker');
  fail(
    'no docker client here can build with BuildKit (Docker 23+ needs the buildx plugin); fix: apt-get install docker-buildx-plugin, or apt-get install docker.io for /usr/bin/docker',
  );
}

/**
 * skaffold.yaml's artifacts as { name, repository, dockerfile, buildArgs }: name is the image without `switchyard/`
 * (user-service, ...), the build args are literal strings (skaffold's `{{.ENV}}` templates are not expanded here).
 */
function skaffoldImages() {
  const config = parse(readFileSync(join(root, 'skaffold.yaml'), 'utf8'));
  return (config?.build?.artifacts ?? []).map((artifact) => {
    const dockerfile = artifact.docker?.dockerfile ?? 'Dockerfile';
    const buildArgs = artifact.docker?.buildArgs ?? {};
    for (const [key, value] of Object.entries(buildArgs)) {
      if (typeof value !== 'string' || value.includes('{{'))
        fail(
          `skaffold.yaml: ${artifact.image} build arg ${key} must be a literal string, got ${JSON.stringify(value)}`,
        );
    }
    if ((artifact.context ?? '.') !== '.')
      fail(`skaffold.yaml: ${artifact.image} must build with the repository root as context`);
    return { name: artifact.image.replace(/^switchyard\//, ''), repository: artifact.image, dockerfile, buildArgs };
  });
}

/**
 * The base images a Dockerfile names, with the global ARGs substituted: a build arg if given, else the `ARG X=default`
 * value (what the build itself uses).
 */
function baseImagesOf(dockerfile, buildArgs) {
  const args = { ...buildArgs };
  const bases = new Set();
  const stages = new Set();
  for (const line of dockerfile.split('\n')) {
    const arg = /^ARG\s+(\w+)=(\S+)/.exec(line);
    if (arg) args[arg[1]] ??= arg[2];
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      const image = from[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? '');
      if (!stages.has(image)) bases.add(image);
      if (from[2]) stages.add(from[2]);
    }
  }
  return [...bases];
}

/**
 * The Dockerfile as the engine gets it: the `# syntax=` line removed. It makes BuildKit pull a frontend image from
 * Docker Hub, which no machine without a registry can; the engine's built-in frontend handles everything these
 * Dockerfiles use (multi-stage, RUN --mount=type=cache). The committed Dockerfile keeps it for normal machines.
 * SWITCHYARD_KEEP_SYNTAX=1 feeds the file unchanged.
 */
function dockerfileForEngine(source) {
  if (process.env.SWITCHYARD_KEEP_SYNTAX === '1') return source;
  return source.replace(/^#\s*syntax=.*\n/, '');
}

function git(args) {
  const result = run('git', args);
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;

function imageSize(docker, tag) {
  const result = run(docker, ['image', 'inspect', '--format', '{{.Size}}', tag]);
  return result.status === 0 ? Number(result.stdout.trim()) : undefined;
}

/**
 * Runs one `docker build --progress=plain`, printing each step once it finishes (`#N DONE`/`CACHED`) and writing the
 * whole output to the log. Resolves with the failing step (its header and last lines) or undefined on success.
 */
function build(docker, name, dockerfilePath, tags, buildArgs, logPath) {
  const args = ['build', '--network=host', '--progress=plain', '-f', dockerfilePath];
  for (const tag of tags) args.push('-t', tag);
  for (const [key, value] of Object.entries(buildArgs)) args.push('--build-arg', `${key}=${value}`);
  args.push('.');
  const log = createWriteStream(logPath);
  const child = spawn(docker, args, {
    cwd: root,
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /** BuildKit vertex number → { header, started, lines } */
  const steps = new Map();
  let failed;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
  }, BUILD_DEADLINE_MS);
  const onLine = (line) => {
    log.write(`${line}\n`);
    const match = /^#(\d+) (.*)$/.exec(line);
    if (!match) return;
    const [, id, rest] = match;
    if (!steps.has(id)) steps.set(id, { header: rest.replace(/\s+/g, ' '), started: Date.now(), lines: [] });
    const step = steps.get(id);
    // Only Dockerfile steps ([stage n/m] INSTRUCTION) are shown; context transfer and metadata are not.
    const isStep = /^\[[\w-]+ +\d+\/\d+\]/.test(step.header);
    if (rest === 'CACHED' && isStep) console.log(`  ${name}  ${step.header.slice(0, 100)}  (cached)`);
    else if (/^DONE /.test(rest) && isStep) console.log(`  ${name}  ${step.header.slice(0, 100)}  ${rest.slice(5)}`);
    else if (/^ERROR/.test(rest)) failed ??= { step: step.header, error: rest, lines: step.lines.slice(-25) };
    else if (!/^sha256:/.test(rest) && rest.replace(/\s+/g, ' ') !== step.header)
      step.lines.push(rest.replace(/^\d+\.\d+ /, ''));
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      log.end();
      if (code === 0) return resolve(undefined);
      if (timedOut)
        return resolve({
          step: failed?.step ?? 'the build',
          error: `did not finish within ${seconds(BUILD_DEADLINE_MS)} (killed)`,
          lines: [],
        });
      resolve(failed ?? { step: 'docker build', error: `exited with ${code}`, lines: [] });
    });
  });
}

async function main() {
  const images = skaffoldImages();
  const known = images.map((image) => image.name);
  const wanted = process.argv.slice(2);
  for (const name of wanted) if (!known.includes(name)) fail(`unknown image ${name}; one of ${known.join(', ')}`);
  const selected = wanted.length ? images.filter((image) => wanted.includes(image.name)) : images;
  const names = selected.map((image) => image.name);

  const { client: docker, clientVersion, serverVersion } = pickDockerClient();
  const sha = git(['rev-parse', '--short', 'HEAD']);
  if (!sha) fail('not a git checkout (the images are tagged with the commit); fix: run from a clone of the repository');
  const revision = git(['rev-parse', 'HEAD']);
  const dirty = (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  console.log(
    `images: ${names.join(', ')} at ${sha}${dirty ? ' (work tree has uncommitted changes; the images contain them)' : ''}; docker client ${clientVersion}, engine ${serverVersion} (${docker})`,
  );

  const sources = new Map(
    [...new Set(selected.map((image) => image.dockerfile))].map((file) => [
      file,
      readFileSync(join(root, file), 'utf8'),
    ]),
  );

  // Base images first, each once.
  const bases = [...new Set(selected.flatMap((image) => baseImagesOf(sources.get(image.dockerfile), image.buildArgs)))];
  for (const base of bases) {
    if (imageSize(docker, base) !== undefined) {
      console.log(`images: base ${base} present`);
      continue;
    }
    const node = /^node:(\d+\.\d+\.\d+)-bookworm-slim$/.exec(base);
    if (!node)
      fail(
        `base image ${base} is not in the engine and can be made here only for node:<x.y.z>-bookworm-slim; fix: docker pull ${base}`,
      );
    console.log(`images: base ${base} is not in the engine: making it (scripts/images/build-base-image.sh)`);
    const made = spawnSync('bash', [join(root, 'scripts/images/build-base-image.sh'), node[1]], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, SWITCHYARD_DOCKER: docker },
      timeout: BASE_DEADLINE_MS,
      killSignal: 'SIGKILL',
    });
    if (made.status !== 0)
      fail(`making base image ${base} failed${made.error ? ` (${made.error.message})` : ''}; see the lines above`);
  }

  mkdirSync(logDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'switchyard-images-'));
  const results = [];
  const started = Date.now();
  try {
    for (const { name, repository, dockerfile, buildArgs } of selected) {
      const tags = [`${repository}:dev`, `${repository}:${sha}`];
      const dockerfilePath = join(work, `${name}.Dockerfile`);
      writeFileSync(dockerfilePath, dockerfileForEngine(sources.get(dockerfile)));
      const logPath = join(logDir, `${name}.log`);
      const shown = Object.entries(buildArgs)
        .filter(([key]) => key === 'SERVICE' || key === 'PORT')
        .map(([key, value]) => ` ${key}=${value}`)
        .join('');
      console.log(`\n▶ ${repository} (${dockerfile}${shown}; log ${logPath})`);
      const t0 = Date.now();
      const failure = await build(
        docker,
        name,
        dockerfilePath,
        tags,
        { ...buildArgs, VERSION: version, REVISION: revision },
        logPath,
      );
      const took = Date.now() - t0;
      if (failure) {
        console.error(
          `\n✖ ${repository}: Dockerfile step ${failure.step} failed after ${seconds(took)}: ${failure.error}`,
        );
        for (const line of failure.lines) console.error(`    ${line}`);
        console.error(`  full log: ${logPath}`);
        process.exitCode = 1;
        return;
      }
      console.log(`✔ ${repository} in ${seconds(took)}`);
      results.push({ repository, tags, took, size: imageSize(docker, tags[0]) });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  console.log(`\nimages built in ${seconds(Date.now() - started)}:`);
  const width = Math.max(...results.map((r) => r.repository.length));
  for (const { repository, tags, took, size } of results) {
    console.log(
      `  ${repository.padEnd(width)}  ${megabytes(size ?? 0).padStart(7)}  ${seconds(took).padStart(8)}  tags ${tags.map((t) => t.split(':')[1]).join(', ')}`,
    );
  }
  for (const base of bases) console.log(`  base ${base}: ${megabytes(imageSize(docker, base) ?? 0)}`);
}

await main();
