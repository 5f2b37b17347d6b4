import { Injectable } from '@nestjs/common';

/**
 * A dependency check: resolves when healthy, throws (with a reason safe to show) when not. What it resolves to, if
 * anything, is shown as the check's details on the health endpoint.
 */
export type DependencyCheck = () => Promise<void | Record<string, unknown>>;

/**
 * The checks behind `/health/live`, `/health/ready` and `/health/startup`. Feature modules register what they depend on
 * (the database now, the broker with the messaging layer) so the health module needs no knowledge of them.
 */
@Injectable()
export class HealthChecks {
  readonly liveness = new Map<string, DependencyCheck>();
  readonly readiness = new Map<string, DependencyCheck>();
  readonly startup = new Map<string, DependencyCheck>();

  /**
   * Checked on every liveness probe: a failure restarts the pod. Only for a process that is wedged and that a
   * restart cures (a hung outbox relay), never for a dependency that is down.
   */
  addLivenessCheck(name: string, check: DependencyCheck): void {
    this.liveness.set(name, check);
  }

  /** Checked on every readiness probe: traffic stops while one fails. */
  addReadinessCheck(name: string, check: DependencyCheck): void {
    this.readiness.set(name, check);
  }

  /** Checked by the startup probe until the first success; then remembered, since it cannot regress. */
  addStartupCheck(name: string, check: DependencyCheck): void {
    this.startup.set(name, check);
  }
}
