import { spawn } from 'node:child_process';

/** `promtool check metrics` on a scrape: its complaints, empty when clean. */
export function promtoolProblems(exposition: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PROMTOOL_BIN ?? 'promtool', ['check', 'metrics'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve(code === 0 ? output.trim() : `exit ${code}: ${output.trim()}`));
    child.stdin.end(exposition);
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The series lines of a scrape; prom-client's label order differs between metric types. */
export function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`unparseable series line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** Value of the first series named `name` whose labels include `labels`; undefined when there is none. */
export function valueOf(all: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return all.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
