import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Every attribute key the installed `@opentelemetry/semantic-conventions` marks `@deprecated`, read from its own
 * declarations (stable and incubating), so the tracing specs check spans against the version in the lockfile.
 */
export function deprecatedSemconvKeys(): Set<string> {
  const dist = dirname(createRequire(import.meta.url).resolve('@opentelemetry/semantic-conventions/incubating'));
  const keys = new Set<string>();
  for (const file of ['stable_attributes.d.mts', 'experimental_attributes.d.mts']) {
    for (const block of readFileSync(join(dist, file), 'utf8').split('/**')) {
      const declared = /\*\/\s*declare const ATTR_\w+: "([^"]+)";/.exec(block);
      if (declared && /@deprecated/.test(block)) keys.add(declared[1]!);
    }
  }
  return keys;
}
