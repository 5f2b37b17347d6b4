// A private copy of charts/ with every chart's file:// dependencies built, for tests that install the charts. A copy
// because `helm dependency build` rewrites <chart>/charts/ and Chart.lock in place, and charts.spec.ts (another
// jest worker, at the same time) builds the same charts in the repository: two builds into one directory race.
import { helmAsync } from '@switchyard/testing';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const chartsDir = fileURLToPath(new URL('../../charts', import.meta.url));

interface ChartMeta {
  name: string;
  type?: string;
  dependencies?: { name: string; repository: string }[];
}

export interface ChartWorkspace {
  /** Directory holding one directory per chart, dependencies built. */
  dir: string;
  /** Charts that can be installed (every one but library charts), by directory name. */
  installable: string[];
  remove(): void;
}

const chartMeta = (dir: string, chart: string) => parse(readFileSync(path.join(dir, chart, 'Chart.yaml'), 'utf8')) as ChartMeta;

/** Copies charts/ (symlinks followed, build output left out) and builds dependencies, leaves first. */
export async function chartWorkspace(): Promise<ChartWorkspace> {
  const root = mkdtempSync(path.join(tmpdir(), 'switchyard-charts-'));
  const dir = path.join(root, 'charts');
  try {
    const isBuildOutput = (source: string) => /[\\/]charts[\\/][^\\/]+[\\/](charts|Chart\.lock)$/.test(source);
    cpSync(chartsDir, dir, { recursive: true, dereference: true, filter: (source) => !isBuildOutput(source) });
    const charts = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const dependsOn = new Map(charts.map((chart) => [chart, (chartMeta(dir, chart).dependencies ?? []).map((dep) => path.basename(dep.repository.replace(/^file:\/\//, '')))]));
    // Build in waves: a chart once the charts it depends on are built (a packaged dependency carries its own charts/).
    const built = new Set<string>();
    while (built.size < charts.length) {
      const wave = charts.filter((chart) => !built.has(chart) && dependsOn.get(chart)!.every((dep) => built.has(dep)));
      if (wave.length === 0) throw new Error(`circular chart dependencies among ${charts.filter((chart) => !built.has(chart)).join(', ')}`);
      await Promise.all(wave.filter((chart) => dependsOn.get(chart)!.length > 0).map((chart) => helmAsync(['dependency', 'build', path.join(dir, chart)])));
      for (const chart of wave) built.add(chart);
    }
    return {
      dir,
      installable: charts.filter((chart) => chartMeta(dir, chart).type !== 'library'),
      remove: () => rmSync(root, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}
