import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SCHEMAS_DIR } from './event-docs.js';

// The docs generator's file I/O, kept apart so the rest of the package stays free of it.

/** How the files under `docs/` differ from what the generator renders (paths relative to `docs/`). */
export interface DocsDrift {
  /** Present but with other content. */
  readonly stale: readonly string[];
  /** Rendered but absent. */
  readonly missing: readonly string[];
  /** In `docs/schemas/` but no longer rendered (a removed event version). */
  readonly extra: readonly string[];
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The generated-looking files in `docs/schemas/`; other files in `docs/` belong to people. */
async function schemaFilesOnDisk(docsDir: string): Promise<string[]> {
  try {
    const names = await readdir(path.join(docsDir, SCHEMAS_DIR));
    return names.filter((name) => name.endsWith('.json')).map((name) => `${SCHEMAS_DIR}/${name}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function diffDocs(docsDir: string, rendered: ReadonlyMap<string, string>): Promise<DocsDrift> {
  const stale: string[] = [];
  const missing: string[] = [];
  for (const [file, content] of rendered) {
    const onDisk = await readIfPresent(path.join(docsDir, file));
    if (onDisk === undefined) missing.push(file);
    else if (onDisk !== content) stale.push(file);
  }
  const extra = (await schemaFilesOnDisk(docsDir)).filter((file) => !rendered.has(file)).sort();
  return { stale, missing, extra };
}

export function isInSync(drift: DocsDrift): boolean {
  return drift.stale.length === 0 && drift.missing.length === 0 && drift.extra.length === 0;
}

/** Writes what differs and deletes extra schema files; returns the drift it fixed. */
export async function writeDocs(docsDir: string, rendered: ReadonlyMap<string, string>): Promise<DocsDrift> {
  const drift = await diffDocs(docsDir, rendered);
  for (const file of [...drift.missing, ...drift.stale]) {
    const target = path.join(docsDir, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, rendered.get(file) ?? '', 'utf8');
  }
  for (const file of drift.extra) await rm(path.join(docsDir, file));
  return drift;
}
