// Preload for the soak: `node --experimental-transform-types --import ./e2e/soak/ts-imports.ts e2e/soak/soak.ts`.
// The soak runs as TypeScript without a build step (like bench/), reusing e2e/faults; their sources import siblings
// as `./x.js` for the type-check, so a relative `./x.js` under e2e/ that exists only as `./x.ts` resolves to the latter.
// (Transform, not only strip: e2e/faults uses constructor parameter properties.)
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const e2eDir = new URL('../', import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      (specifier.startsWith('./') || specifier.startsWith('../')) &&
      specifier.endsWith('.js') &&
      context.parentURL?.startsWith(e2eDir)
    ) {
      const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (
        candidate.href.startsWith(e2eDir) &&
        !existsSync(fileURLToPath(new URL(specifier, context.parentURL))) &&
        existsSync(fileURLToPath(candidate))
      ) {
        return nextResolve(candidate.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
});
