import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CRD_PATH, eventSubscriptionCrdYaml } from './event-subscription-crd.js';

// Entry point of `npm run crd`: `node services/topology-operator/dist/crd/generate-crd.js` rewrites the chart's
// EventSubscription CRD from the operator's API (src/api/v1alpha1). The repository root is found from this file's
// own location (src/crd or dist/crd), so it works from any working directory.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
writeFileSync(`${repoRoot}${CRD_PATH}`, eventSubscriptionCrdYaml());
process.stdout.write(`wrote ${CRD_PATH}\n`);
