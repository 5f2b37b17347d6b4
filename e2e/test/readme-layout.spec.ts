import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The README's "Layout" section is a newcomer's map of the tree: every path it names must exist, so a move that
// forgets the map fails here instead of misleading the next reader.
const root = new URL('../..', import.meta.url).pathname;

/** The paths the layout block names: each line's first column, and `src/…` sub-entries under their package. */
function layoutPaths(readme: string): string[] {
  const block = /## Layout\n```\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no "## Layout" code block');
  const paths: string[] = [];
  let owner = '';
  for (const line of block.split('\n')) {
    const first = /^(\S+)/.exec(line)?.[1];
    if (first) {
      owner = first.replace(/\/$/, '');
      paths.push(owner);
      continue;
    }
    const sub = /^\s+(src\/[\w-]+\/)\s/.exec(line)?.[1];
    if (sub) paths.push(join(owner, sub));
  }
  return paths;
}

describe('README layout section', () => {
  const paths = layoutPaths(readFileSync(join(root, 'README.md'), 'utf8'));

  it('names the top-level folders and the messaging package folders', () => {
    expect(paths).toEqual(expect.arrayContaining(['services/user-service', 'packages/messaging/src/consumer/']));
  });

  it('names every workspace package and service', () => {
    const workspaces = ['packages', 'services'].flatMap((dir) =>
      readdirSync(join(root, dir), { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(join(root, dir, entry.name, 'package.json')))
        .map((entry) => `${dir}/${entry.name}`),
    );
    expect(workspaces.filter((workspace) => !paths.includes(workspace))).toEqual([]);
  });

  it.each(paths)('%s exists', (path) => {
    expect(existsSync(join(root, path))).toBe(true);
  });
});
