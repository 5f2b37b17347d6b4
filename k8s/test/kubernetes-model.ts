// kubernetes-models' classes by "apiVersion/kind": the Kubernetes schema of a rendered object, for the chart tests.
import * as models from 'kubernetes-models';

type ModelClass = (new (data: unknown) => { validate(): void }) & { apiVersion?: string; kind?: string };

const modelClasses = new Map<string, ModelClass>();
(function register(namespace: unknown, depth: number): void {
  for (const value of Object.values(namespace as Record<string, unknown>)) {
    const candidate = value as ModelClass;
    if (typeof candidate === 'function' && typeof candidate.apiVersion === 'string' && typeof candidate.kind === 'string') {
      modelClasses.set(`${candidate.apiVersion}/${candidate.kind}`, candidate);
    } else if (typeof value === 'object' && value !== null && depth < 2) {
      register(value, depth + 1);
    }
  }
})(models, 0);

/** The model class for an object's apiVersion and kind; undefined for kinds kubernetes-models lacks (CRDs' kinds). */
export function kubernetesModelOf(obj: { apiVersion: string; kind: string }): ModelClass | undefined {
  return modelClasses.get(`${obj.apiVersion}/${obj.kind}`);
}
