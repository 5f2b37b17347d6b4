import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';

/**
 * Where the process is in its life, as the probes report it: not started until the app has initialised,
 * shutting down from the first SIGTERM on (readiness turns 503 before anything closes).
 */
@Injectable()
export class LifecycleState implements OnApplicationBootstrap {
  private started = false;
  private stopping = false;

  /** Every module has initialised (Nest runs this last, right before the listener opens). */
  onApplicationBootstrap(): void {
    this.started = true;
  }

  beginShutdown(): void {
    this.stopping = true;
  }

  get isStarted(): boolean {
    return this.started;
  }

  get isShuttingDown(): boolean {
    return this.stopping;
  }
}
