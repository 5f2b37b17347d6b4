// A stand-in for the kubelet, for Jobs only. The control plane under the tests has no kubelet (and no scheduler):
// Pods are admitted and stay Pending. Helm waits for a hook Job (the charts' migration Job) to complete before it
// goes on, so an install would hang until its timeout. This marks every Pending Pod of a Job in the given
// namespaces as Succeeded through the status subresource, as a kubelet would once the container exited 0; the
// Job controller (kube-controller-manager) then completes the Job and Helm proceeds. It records each Pod it
// finished: the proof that the Job's Pod was created, i.e. admitted by PodSecurity in a restricted namespace.
import type { ControlPlane } from '@switchyard/testing';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often Pending pods are looked for; a hook waits about this long per Job. */
const POLL_INTERVAL_MS = 1000;

export interface FinishedJobPod {
  namespace: string;
  job: string;
  pod: string;
}

interface PodList {
  items: {
    metadata: { name: string; namespace: string; ownerReferences?: { kind: string; name: string }[] };
  }[];
}

export class JobPodFinisher {
  readonly finished: FinishedJobPod[] = [];
  private readonly namespaces = new Set<string>();
  private running: Promise<void> | undefined;
  private stopping = false;
  private lastError: unknown;

  constructor(private readonly plane: ControlPlane) {}

  /** Finishes Job pods in `namespace` from now on (starts the poll loop on first use). */
  watch(namespace: string): void {
    this.namespaces.add(namespace);
    this.running ??= this.loop();
  }

  unwatch(namespace: string): void {
    this.namespaces.delete(namespace);
  }

  /** Pods finished in `namespace`, by Job name. */
  jobsFinishedIn(namespace: string): string[] {
    return [...new Set(this.finished.filter((entry) => entry.namespace === namespace).map((entry) => entry.job))].sort();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    if (this.lastError) throw new Error(`the Job pod finisher failed: ${String(this.lastError)}`);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.namespaces.size > 0) {
        try {
          await this.finishPending();
          this.lastError = undefined;
        } catch (error) {
          this.lastError = error; // a transient kubectl failure is retried on the next round
        }
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  private async finishPending(): Promise<void> {
    const pods = JSON.parse(await this.plane.kubectl(['get', 'pods', '--all-namespaces', '--field-selector=status.phase=Pending', '-o', 'json'])) as PodList;
    for (const pod of pods.items) {
      const job = pod.metadata.ownerReferences?.find((owner) => owner.kind === 'Job')?.name;
      if (!job || !this.namespaces.has(pod.metadata.namespace)) continue;
      const now = new Date().toISOString();
      const status = { phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now }] };
      await this.plane.kubectl(['patch', 'pod', pod.metadata.name, '-n', pod.metadata.namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
      this.finished.push({ namespace: pod.metadata.namespace, job, pod: pod.metadata.name });
    }
  }
}
