import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyRecorder, type Outcome } from './latency-recorder.js';
import { type LoadOptions, type Operation, OPERATIONS } from './load-options.js';
import { type IssuedToken, type LoadCredentials, type PlatformClient, RequestFailedError } from './platform-client.js';
import { type LoadUser, PlatformState } from './platform-state.js';

/** How long after a sign-up its user is used for orders (order-service learns of it through `user.created`). */
const PROJECTION_DELAY_MS = 2_000;
/** Seeded customers must reach order-service within this long, or the platform's event flow is broken. */
const SEED_DEADLINE_MS = 60_000;

/** An operation and what it acts on: every one but a sign-up acts as a user, with that user's token. */
type Planned =
  | { name: 'signup' }
  | { name: 'login' | 'order' | 'delete'; user: LoadUser }
  | { name: 'cancel'; user: LoadUser; orderId: string };

export interface LoadRunResult {
  recorder: LatencyRecorder;
  /** Operations sent (every one is also recorded once it settled). */
  sent: number;
  /** From the first intended send time to the last operation settled. */
  elapsedMs: number;
}

/**
 * Open loop: operation i is due at start + i / rate, whatever happened to the ones before it. At most
 * `maxInFlight` requests run at once; a due operation waits for a free slot, and that wait is part of its latency,
 * because latency is measured from the intended send time (no coordinated omission).
 */
export class OpenLoopRunner {
  readonly recorder = new LatencyRecorder();
  private readonly state = new PlatformState(PROJECTION_DELAY_MS);
  private readonly weights: Array<[Operation, number]>;
  private readonly totalWeight: number;
  private inFlight = 0;
  private slotFreed: (() => void) | undefined;
  private sequence = 0;

  constructor(
    private readonly options: LoadOptions,
    private readonly client: PlatformClient,
  ) {
    this.weights = OPERATIONS.map((operation) => [operation, options.mix[operation]]);
    this.totalWeight = this.weights.reduce((sum, [, weight]) => sum + weight, 0);
  }

  /** Creates the seed customers, logs each in, and waits until order-service knows every one of them. */
  async seed(): Promise<void> {
    const seeded: Array<{ credentials: LoadCredentials; issued: IssuedToken }> = [];
    for (let i = 0; i < this.options.seedUsers; i += 1) {
      const credentials = await this.client.signUp(this.nextTag());
      seeded.push({ credentials, issued: await this.client.login(credentials) });
    }
    const deadline = performance.now() + SEED_DEADLINE_MS;
    for (const { credentials, issued } of seeded) {
      while (!(await this.client.customerKnown(credentials.id, issued.token))) {
        if (performance.now() > deadline) {
          throw new Error(
            `order-service did not learn of seeded user ${credentials.id} within ${SEED_DEADLINE_MS / 1000} s: is the user.created flow (RabbitMQ, the consumers) working?`,
          );
        }
        await sleep(100);
      }
      this.state.addUser(credentials, performance.now(), issued);
    }
  }

  async run(): Promise<LoadRunResult> {
    const { ratePerSecond, count, durationMs } = this.options;
    const total = count ?? Math.max(1, Math.floor((ratePerSecond * durationMs!) / 1000));
    const intervalMs = 1000 / ratePerSecond;
    const start = performance.now();
    const running = new Set<Promise<void>>();
    for (let i = 0; i < total; i += 1) {
      const intended = start + i * intervalMs;
      const wait = intended - performance.now();
      if (wait > 1) await sleep(wait);
      while (this.inFlight >= this.options.maxInFlight)
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
      const task = this.perform(intended).finally(() => running.delete(task));
      running.add(task);
    }
    await Promise.all(running);
    return { recorder: this.recorder, sent: total, elapsedMs: performance.now() - start };
  }

  private async perform(intended: number): Promise<void> {
    this.inFlight += 1;
    const operation = this.pickOperation();
    let error: string | undefined;
    try {
      await this.execute(operation);
    } catch (failure) {
      error = failure instanceof RequestFailedError ? failure.kind : String(failure);
    } finally {
      this.inFlight -= 1;
      this.slotFreed?.();
      this.slotFreed = undefined;
    }
    const outcome: Outcome = { operation: operation.name, latencyMs: performance.now() - intended, error };
    this.recorder.record(outcome);
  }

  /**
   * A weighted pick. An operation with nothing to act on yet (no order to cancel, no logged-in user) becomes a login
   * if a user is waiting for one, else a sign-up.
   */
  private pickOperation(): Planned {
    let roll = Math.random() * this.totalWeight;
    let name: Operation = this.weights.at(-1)![0];
    for (const [operation, weight] of this.weights) {
      if (roll < weight) {
        name = operation;
        break;
      }
      roll -= weight;
    }
    const now = performance.now();
    switch (name) {
      case 'signup':
        return { name };
      case 'login': {
        const user = this.state.userForLogin(now);
        if (user) return { name, user };
        break;
      }
      case 'order': {
        const user = this.state.userForOrder(now);
        if (user) return { name, user };
        break;
      }
      case 'cancel': {
        const order = this.state.takeOrder(now);
        if (order) return { name, user: order.user, orderId: order.id };
        break;
      }
      case 'delete': {
        const user = this.state.takeUser(now);
        if (user) return { name, user };
        break;
      }
    }
    const waiting = name === 'login' ? undefined : this.state.userForLogin(now);
    return waiting ? { name: 'login', user: waiting } : { name: 'signup' };
  }

  private async execute(planned: Planned): Promise<void> {
    switch (planned.name) {
      case 'signup':
        this.state.addUser(await this.client.signUp(this.nextTag()), performance.now());
        return;
      case 'login': {
        const issued = await this.client.login(planned.user).catch((error: unknown) => {
          this.state.loginFailed(planned.user);
          throw error;
        });
        this.state.loggedIn(planned.user, issued, performance.now());
        return;
      }
      case 'order':
        this.state.addOrder(await this.client.placeOrder(planned.user.id, planned.user.token!), planned.user);
        return;
      case 'cancel':
        return this.client.cancelOrder(planned.orderId, planned.user.token!);
      case 'delete':
        return this.client.deleteUser(planned.user.id, planned.user.token!);
    }
  }

  /** Unique per run and process, so emails never collide with an earlier run's. */
  private nextTag(): string {
    this.sequence += 1;
    return `${process.pid}-${Date.now().toString(36)}-${this.sequence}`;
  }
}
