// Preload for the benchmarks: `node --import ./bench/lib/ts-imports.ts bench/<name>.bench.ts`.
// The benches run as TypeScript through Node's type stripping, which loads `.ts` files but keeps import paths as
// written; the repository's type-check wants `./x.js` paths (ESM style). This maps a relative `./x.js` inside
// bench/ to `./x.ts` when only the latter exists, so both are satisfied without a build step for bench/.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const benchDir = new URL('../', import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      (specifier.startsWith('./') || specifier.startsWith('../')) &&
      specifier.endsWith('.js') &&
      context.parentURL?.startsWith(benchDir)
    ) {
      const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (
        candidate.href.startsWith(benchDir) &&
        !existsSync(fileURLToPath(new URL(specifier, context.parentURL))) &&
        existsSync(fileURLToPath(candidate))
      ) {
        return nextResolve(candidate.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
});
