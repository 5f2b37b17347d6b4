// `npm run soak:plot -- [results.json] [plot.png]`: renders the soak's figure from its JSON results (by default the
// run docs/reliability.md shows: docs/reliability-soak.json → docs/reliability-soak.png).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderSoakPlot } from './soak-plot.js';
import type { SoakResults } from './soak-report.js';

const docs = (name: string): string => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));
const [input = docs('reliability-soak.json'), output = docs('reliability-soak.png')] = process.argv.slice(2);

let results: SoakResults;
try {
  results = JSON.parse(readFileSync(input, 'utf8')) as SoakResults;
  if (!Array.isArray(results.samples) || results.samples.length === 0) throw new Error('it holds no samples');
} catch (error) {
  process.stderr.write(`soak:plot: cannot read soak results from ${input}: ${(error as Error).message}\n`);
  process.exit(2);
}
writeFileSync(output, renderSoakPlot(results));
process.stdout.write(`soak:plot: ${output}\n`);
