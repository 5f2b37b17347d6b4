import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ConsumerPolicy,
  consumerPolicyFileName,
  InvalidConsumerPolicyError,
  parseConsumerPolicy,
  topologyInputOf,
} from '../topology/consumer-policy.js';
import { errorFields, type MessagingLogger, silentLogger } from '../observability/messaging-logger.js';
import { planConsumerTopology } from '../topology/topology-plan.js';
import { toError } from '../to-error.js';

/**
 * Default re-read interval of the policy file: 2 s. The kubelet refreshes a mounted ConfigMap within about a
 * minute anyway, so this adds little delay, and one small `readFile` every 2 s costs nothing.
 */
export const DEFAULT_CONSUMER_POLICY_POLL_MS = 2_000;

export interface ConsumerPolicySourceOptions {
  /** The mounted ConfigMap directory (`CONSUMER_POLICY_DIR`); the file read is `<directory>/<queue>.json`. */
  directory: string;
  /** The work queue this process consumes; a policy for another queue is invalid. */
  queue: string;
  /** Default `DEFAULT_CONSUMER_POLICY_POLL_MS`. */
  pollIntervalMs?: number;
  logger?: MessagingLogger;
  /** Called once per distinct invalid file content (or unreadable file), e.g. to count it in a metric. */
  onInvalid?: (error: Error) => void;
}

/** What the source holds now: the policy to apply (undefined: code defaults) and the last problem, if any. */
export interface ConsumerPolicyState {
  policy: ConsumerPolicy | undefined;
  /** `file`: `policy` came from the file; `defaults`: there is no file. */
  origin: 'file' | 'defaults';
  /**
   * Why the file's current content is not applied: invalid (the last good policy stays), or refused by the
   * consumer (see `rejected`); undefined when it is.
   */
  error: string | undefined;
}

export type ConsumerPolicyListener = (policy: ConsumerPolicy | undefined) => void;

/**
 * A queue's consumer policy, read from the file the topology operator's ConfigMap is mounted as. Polled rather
 * than watched: the kubelet swaps a ConfigMap volume atomically by re-pointing the `..data` symlink, which
 * inotify on the file never sees, while a plain read through the symlink always gets one whole version.
 *
 * A missing file means code defaults (said once at info). An invalid file (not JSON, not a ConsumerPolicy, another
 * queue's, or a topology that cannot be planned) keeps the last good policy and is logged once per content;
 * nothing here throws after construction.
 */
export class ConsumerPolicySource {
  readonly path: string;
  private readonly logger: MessagingLogger;
  private readonly listeners = new Set<ConsumerPolicyListener>();
  private state: ConsumerPolicyState = { policy: undefined, origin: 'defaults', error: undefined };
  /** Text last looked at (undefined: no file); a poll that reads the same text does nothing. */
  private lastText: string | undefined | null = null;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  /** The policy the consumer refused (as JSON) and why, while it is still the one to apply. */
  private refused: { policy: string; error: string } | undefined;

  constructor(private readonly options: ConsumerPolicySourceOptions) {
    this.path = join(options.directory, consumerPolicyFileName(options.queue));
    this.logger = options.logger ?? silentLogger;
    // Read synchronously once, so the first topology the consumer declares is already the policy's.
    this.consider(readText(() => readFileSync(this.path, 'utf8')));
  }

  current(): ConsumerPolicyState {
    return this.state;
  }

  /**
   * Records that the consumer could not put `policy` in force (e.g. the broker refused its topology), so that
   * `current().error` reports it until the file changes. Counting and logging are the consumer's; a policy that is
   * no longer the current one is ignored.
   */
  rejected(policy: ConsumerPolicy | undefined, error: Error): void {
    const json = JSON.stringify(policy);
    if (json !== JSON.stringify(this.state.policy)) return;
    const what = policy ? `consumer policy ${policy.source} generation ${policy.generation}` : 'the code defaults';
    this.refused = { policy: json, error: `${what} not applied: ${error.message}` };
    this.state = { ...this.state, error: this.refused.error };
  }

  /** Calls `listener` with every change of the policy to apply (not with the current one). */
  subscribe(listener: ConsumerPolicyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts re-reading every poll interval. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? DEFAULT_CONSUMER_POLICY_POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.listeners.clear();
    await this.polling;
  }

  /** Reads the file now; concurrent calls share one read. */
  poll(): Promise<void> {
    this.polling ??= readFile(this.path, 'utf8')
      .then(
        (text) => readText(() => text),
        (error: unknown) =>
          readText(() => {
            throw error;
          }),
      )
      .then((read) => {
        if (!this.stopped) this.consider(read);
      })
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  private consider(read: ReadResult): void {
    if (read.kind === 'unreadable') {
      // EACCES, EISDIR…: not "no policy", so keep the last good one.
      const message = `cannot read consumer policy ${this.path}: ${read.error.message}`;
      if (this.state.error !== message) this.reject(new InvalidConsumerPolicyError(message, { cause: read.error }));
      this.lastText = null;
      return;
    }
    const text = read.kind === 'missing' ? undefined : read.text;
    if (text === this.lastText) return;
    this.lastText = text;
    if (text === undefined) {
      this.logger.info(
        { queue: this.options.queue, path: this.path },
        'no consumer policy file: using the code defaults',
      );
      this.update({ policy: undefined, origin: 'defaults', error: undefined });
      return;
    }
    let policy: ConsumerPolicy;
    try {
      policy = this.validate(text);
    } catch (error) {
      this.reject(error instanceof Error ? error : new InvalidConsumerPolicyError(String(error)));
      return;
    }
    this.logger.info(
      { queue: this.options.queue, path: this.path, source: policy.source, generation: policy.generation },
      'consumer policy read',
    );
    this.update({ policy, origin: 'file', error: undefined });
  }

  private validate(text: string): ConsumerPolicy {
    const policy = parseConsumerPolicy(text);
    if (policy.queue !== this.options.queue)
      throw new InvalidConsumerPolicyError(
        `consumer policy queue: is '${policy.queue}', but this consumer's queue is '${this.options.queue}'`,
      );
    try {
      planConsumerTopology(topologyInputOf(policy));
    } catch (error) {
      throw new InvalidConsumerPolicyError(
        `consumer policy describes an invalid topology: ${(error as Error).message}`,
      );
    }
    return policy;
  }

  private reject(error: Error): void {
    this.logger.error(
      { queue: this.options.queue, path: this.path, ...errorFields(error) },
      'invalid consumer policy: keeping the last good one',
    );
    this.state = { ...this.state, error: error.message };
    try {
      this.options.onInvalid?.(error);
    } catch {
      // A metrics hook must not break reading the policy.
    }
  }

  private update(next: ConsumerPolicyState): void {
    const json = JSON.stringify(next.policy);
    const changed = json !== JSON.stringify(this.state.policy);
    if (changed) this.refused = undefined;
    // The same policy again (say after an invalid file) is still refused: no listener call would change that.
    const refused = this.refused;
    this.state = refused !== undefined && refused.policy === json ? { ...next, error: refused.error } : next;
    if (!changed) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(next.policy);
      } catch (error) {
        this.logger.error({ queue: this.options.queue, ...errorFields(error) }, 'consumer policy listener failed');
      }
    }
  }
}

type ReadResult = { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'unreadable'; error: Error };

function readText(read: () => string): ReadResult {
  try {
    return { kind: 'text', text: read() };
  } catch (error) {
    // A ConfigMap key removed by the operator, or a directory not (yet) mounted: both mean "no policy".
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', error: toError(error) };
  }
}
