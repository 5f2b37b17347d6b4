// The business traffic a scenario runs while its fault happens: users registered on user-service (each becomes a
// customer profile in order-service through `user.created`) and orders placed on order-service (each becomes a
// row in user-service's order statistics through `order.placed`). Requests may fail during a fault; what counts
// afterwards is what the source databases committed, not what the client heard. Authentication is on, as in
// production: each seeded customer logs in (`POST /auth/token`) and places its orders with its own token.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultPlatform } from './fault-lab.js';

/** A request that does not answer within this is abandoned (its write may still commit; the ledger checks). */
const REQUEST_TIMEOUT_MS = 15_000;
/** Every workload user's password (they are throwaway users of a throwaway platform). */
const PASSWORD = 'correct horse battery';

/** A customer order-service knows, with the token its orders are placed with. */
interface Customer {
  id: string;
  email: string;
  token: string;
  /** When to log in again: halfway to the token's expiry, so a long soak never sends an expired token. */
  renewAt: number;
}

export interface WorkloadTally {
  attempted: number;
  /** Answered 201: the client was told the write committed. */
  acknowledged: number;
  /** Answered with another status, or no answer at all (refused, reset, timed out). */
  failed: number;
  /** Failures by status or error code, e.g. `503`, `ECONNREFUSED`, `timeout`. */
  failures: Record<string, number>;
  /** Ids the client was given with a 201: each must exist in the source database afterwards. */
  acknowledgedUsers: string[];
  acknowledgedOrders: string[];
}

export interface WorkloadOptions {
  /** Operations started per second at most (all scenarios stay in one machine's reach). */
  ratePerSecond: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Share of operations that register a user; the rest place orders. */
  userShare: number;
}

export class Workload {
  readonly tally: WorkloadTally = {
    attempted: 0,
    acknowledged: 0,
    failed: 0,
    failures: {},
    acknowledgedUsers: [],
    acknowledgedOrders: [],
  };
  /** Customers order-service knows (seeded before the fault): orders for them are valid whatever the fault. */
  private readonly customers: Customer[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private sequence = 0;

  constructor(
    private readonly platform: FaultPlatform,
    private readonly options: WorkloadOptions,
  ) {}

  /**
   * Registers `count` users, logs each in, and waits until order-service has a profile for each, so orders for them
   * are valid.
   */
  async seedCustomers(count: number, timeoutMs = 60_000): Promise<void> {
    const seeded: Customer[] = [];
    for (let i = 0; i < count; i++) {
      const user = await this.createUser();
      if (!user) throw new Error('seeding a customer failed before any fault was injected');
      const login = await this.login(user.email);
      if (typeof login === 'string') throw new Error(`logging a seeded customer in failed (${login}) before any fault`);
      seeded.push({ ...user, ...login });
    }
    const ids = seeded.map((customer) => customer.id);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.platform.query<{ n: string }>(
        'orders',
        'SELECT count(*)::text AS n FROM customer_profiles WHERE user_id = ANY($1::uuid[])',
        [ids],
      );
      if (Number(rows[0]!.n) === ids.length) break;
      if (Date.now() > deadline)
        throw new Error(`order-service knew ${rows[0]!.n} of ${ids.length} seeded customers after ${timeoutMs} ms`);
      await sleep(100);
    }
    this.customers.push(...seeded);
  }

  /** Starts the stream of operations; it runs until {@link stop}. */
  start(): void {
    this.running = true;
    const interval = 1000 / this.options.ratePerSecond;
    const worker = async (): Promise<void> => {
      let next = Date.now();
      while (this.running) {
        next += interval * this.options.concurrency;
        await this.operation();
        const wait = next - Date.now();
        if (wait > 0) await sleep(wait);
        else next = Date.now();
      }
    };
    this.loop = Promise.all(Array.from({ length: this.options.concurrency }, worker)).then(() => undefined);
  }

  /** Waits until at least `count` operations were attempted (or fails after `timeoutMs`). */
  async untilAttempted(count: number, timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.tally.attempted < count) {
      if (Date.now() > deadline)
        throw new Error(`only ${this.tally.attempted} of ${count} operations attempted after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Stops starting operations and waits for those in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async operation(): Promise<void> {
    if (this.customers.length === 0 || Math.random() < this.options.userShare) await this.createUser();
    else await this.placeOrder(this.customers[Math.floor(Math.random() * this.customers.length)]!);
  }

  private async createUser(): Promise<{ id: string; email: string } | undefined> {
    const n = ++this.sequence;
    const email = `${this.platform.label}-${n}-${randomUUID().slice(0, 8)}@faults.test`;
    const body = { email, name: `Fault User ${n}`, password: PASSWORD };
    const id = await this.request(this.platform.services.users.url, '/users', body);
    if (id) this.tally.acknowledgedUsers.push(id);
    return id ? { id, email } : undefined;
  }

  /** `POST /auth/token`: the token and when to renew it, or why it failed (a status or error code). */
  private async login(email: string): Promise<Pick<Customer, 'token' | 'renewAt'> | string> {
    try {
      const response = await fetch(`${this.platform.services.users.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: PASSWORD }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status !== 200) return String(response.status);
      const issued = JSON.parse(text) as { access_token: string; expires_in: number };
      return { token: issued.access_token, renewAt: Date.now() + (issued.expires_in * 1000) / 2 };
    } catch (error) {
      return failureOf(error);
    }
  }

  private async placeOrder(customer: Customer): Promise<void> {
    if (Date.now() >= customer.renewAt) {
      const login = await this.login(customer.email);
      if (typeof login === 'string') {
        // The order is not attempted without a valid token: it counts as an operation that failed at its login.
        this.tally.attempted++;
        await this.fail(`login ${login}`);
        return;
      }
      Object.assign(customer, login);
    }
    const items = [
      {
        sku: `SKU-${1 + Math.floor(Math.random() * 50)}`,
        quantity: 1 + Math.floor(Math.random() * 3),
        unitPriceCents: 100 + Math.floor(Math.random() * 9_900),
      },
    ];
    const id = await this.request(
      this.platform.services.orders.url,
      '/orders',
      { userId: customer.id, items },
      customer.token,
    );
    if (id) this.tally.acknowledgedOrders.push(id);
  }

  /** POSTs and returns the created id on 201; anything else is tallied as a failure, with a short pause. */
  private async request(base: string, path: string, body: unknown, token?: string): Promise<string | undefined> {
    this.tally.attempted++;
    let outcome: string;
    try {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status === 201) {
        this.tally.acknowledged++;
        return (JSON.parse(text) as { id: string }).id;
      }
      outcome = String(response.status);
    } catch (error) {
      outcome = failureOf(error);
    }
    await this.fail(outcome);
    return undefined;
  }

  /** Tallies a failed operation, with a short pause. */
  private async fail(outcome: string): Promise<void> {
    this.tally.failed++;
    this.tally.failures[outcome] = (this.tally.failures[outcome] ?? 0) + 1;
    // Back off a little: a service that is down should not be hammered by a tight loop of refused connections.
    await sleep(100);
  }
}

/** A request that got no answer, by its error code (`ECONNREFUSED`, `timeout`, ...). */
function failureOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return (error as Error).name === 'TimeoutError' ? 'timeout' : (cause?.code ?? (error as Error).name);
}
