// Preload for the benchmarks: `node --import ./bench/lib/ts-imports.ts bench/<name>.bench.ts`.
// The benches run as TypeScript through Node's type stripping, which loads `.ts` files but keeps import paths as
// written; the repository's type-check wants `./x.js` paths (ESM style). This maps a relative `./x.js` inside
// bench/ to `./x.ts` when only the latter exists, so both are satisfied without a build step for bench/. The same
// holds inside e2e/, whose platform helper (both services as processes) the process-level bench reuses.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const benchDir = new URL('../', import.meta.url).href;
const e2eDir = new URL('../../e2e/', import.meta.url).href;
const mapped = (url: string | undefined): boolean => !!url && (url.startsWith(benchDir) || url.startsWith(e2eDir));

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      (specifier.startsWith('./') || specifier.startsWith('../')) &&
      specifier.endsWith('.js') &&
      mapped(context.parentURL)
    ) {
      const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (
        mapped(candidate.href) &&
        !existsSync(fileURLToPath(new URL(specifier, context.parentURL))) &&
        existsSync(fileURLToPath(candidate))
      ) {
        return nextResolve(candidate.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
});
