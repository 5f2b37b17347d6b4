import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';

/** The three API groups the operator talks to, all from one kubeconfig. */
export interface KubeClients {
  kubeConfig: KubeConfig;
  customObjects: CustomObjectsApi;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
}

export function createKubeClients(kubeConfig: KubeConfig): KubeClients {
  return {
    kubeConfig,
    customObjects: kubeConfig.makeApiClient(CustomObjectsApi),
    core: kubeConfig.makeApiClient(CoreV1Api),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
  };
}

/**
 * Request options making a patch a JSON merge patch (RFC 7386). The generated 2.x clients default patches to JSON
 * patch; this middleware overrides the Content-Type after they set it. Merge patch is the only patch type the
 * operator sends: it works the same on custom resources (which reject strategic merge) and core objects.
 */
export const MERGE_PATCH_OPTIONS = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
