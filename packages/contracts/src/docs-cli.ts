import { diffDocs, isInSync, writeDocs, type DocsDrift } from './docs-files.js';
import { renderEventDocs } from './event-docs.js';

export const EXIT_OK = 0;
/** `--check` found files that differ from the catalog. */
export const EXIT_STALE = 1;
export const EXIT_USAGE = 2;

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = 'Usage: node packages/contracts/dist/generate-docs.js [--check]';

interface DriftLabels {
  readonly stale: string;
  readonly missing: string;
  readonly extra: string;
}

const CHECK_LABELS: DriftLabels = { stale: 'stale  ', missing: 'missing', extra: 'extra  ' };
const WRITE_LABELS: DriftLabels = { stale: 'updated', missing: 'created', extra: 'removed' };

function describeDrift(drift: DocsDrift, docsDir: string, labels: DriftLabels): string[] {
  return [
    ...drift.stale.map((file) => `${labels.stale}  ${docsDir}/${file}`),
    ...drift.missing.map((file) => `${labels.missing}  ${docsDir}/${file}`),
    ...drift.extra.map((file) => `${labels.extra}  ${docsDir}/${file}`),
  ];
}

/**
 * Writes `asyncapi.yaml` and `schemas/*.json` under `docsDir` from the event catalog; with `--check`, writes
 * nothing and exits 1 listing every stale, missing or extra file.
 */
export async function runDocsCli(argv: readonly string[], docsDir: string, output: CliOutput): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    output.out(USAGE);
    return EXIT_OK;
  }
  const unknown = argv.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    output.err(`generate-docs: unknown argument ${unknown.map((arg) => `"${arg}"`).join(', ')}`);
    output.err(USAGE);
    return EXIT_USAGE;
  }
  const rendered = renderEventDocs();

  if (argv.includes('--check')) {
    const drift = await diffDocs(docsDir, rendered);
    if (isInSync(drift)) {
      output.out(`generate-docs: ${rendered.size} files in ${docsDir} are up to date`);
      return EXIT_OK;
    }
    output.err('generate-docs: the event docs are out of date; run `node packages/contracts/dist/generate-docs.js`:');
    for (const line of describeDrift(drift, docsDir, CHECK_LABELS)) output.err(`  ${line}`);
    return EXIT_STALE;
  }

  const drift = await writeDocs(docsDir, rendered);
  const changes = describeDrift(drift, docsDir, WRITE_LABELS);
  for (const line of changes) output.out(line);
  output.out(
    `generate-docs: ${changes.length === 0 ? 'nothing to change' : `${changes.length} files changed`} (${rendered.size} generated files in ${docsDir})`,
  );
  return EXIT_OK;
}
