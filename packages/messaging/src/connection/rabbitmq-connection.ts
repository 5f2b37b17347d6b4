import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { readFileSync } from 'node:fs';
import { CLOSE_TIMEOUT_MS, settledWithin } from './bounded-wait.js';
import { ConnectionClosedError } from '../messaging-errors.js';
import { errorFields, maskUrl, type MessagingLogger, silentLogger } from '../observability/messaging-logger.js';

/** Default heartbeat: 15 s, so a dead peer (or a silently dropped TCP path) is noticed within about 30 s. */
export const DEFAULT_HEARTBEAT_SECONDS = 15;
/** Default first reconnect delay: 250 ms, short enough that a forced disconnect costs little. */
export const DEFAULT_RECONNECT_INITIAL_DELAY_MS = 250;
/** Default reconnect delay cap: 15 s, so a broker back from an outage is found again within seconds. */
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 15_000;
/** Default TCP + AMQP handshake timeout: 10 s; an unreachable host must not stall the reconnect loop for minutes. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface RabbitMqConnectionOptions {
  /** `amqp://user:pass@host:port/vhost`; `heartbeat` in its query wins over `heartbeatSeconds`. */
  url: string;
  /** Shown by `rabbitmqctl list_connections client_properties` and the management UI, e.g. the service name. */
  connectionName?: string;
  heartbeatSeconds?: number;
  reconnectInitialDelayMs?: number;
  reconnectMaxDelayMs?: number;
  connectTimeoutMs?: number;
  /**
   * PEM file of the CA(s) that signed the broker's certificate, for `amqps://` (`RABBITMQ_CA_FILE`); without it the
   * system's trusted CAs are used. Read once, here: an unreadable file fails construction, so the service does not start.
   */
  caFile?: string;
  logger?: MessagingLogger;
}

/** A setup step (channels, topology, consumers) that must run on every new connection. */
export type ConnectedCallback = (connection: ChannelModel) => Promise<void>;

export interface ConnectionHealth {
  /** An AMQP connection is open. */
  connected: boolean;
  /** The broker has blocked publishing on it (memory or disk alarm); consumers still work. */
  blocked: boolean;
}

interface Registration {
  setup: ConnectedCallback;
  /** The connection this setup last completed on; it runs again on any other. */
  ranOn: ChannelModel | undefined;
}

/**
 * The process's one connection to RabbitMQ. It reconnects by itself with capped, jittered exponential backoff
 * whenever the connection is lost (either `error` or `close`, handled once per loss), and then re-runs every
 * setup registered with `onConnected` in registration order, so channels, topology and consumers come back
 * too. Channels belong to one connection: whoever holds one must drop it when it closes, never ack on it again.
 */
export class RabbitMqConnection {
  private readonly url: string;
  /** Host and port of the broker (`server.address`/`server.port` of messaging spans), without credentials. */
  readonly endpoint: { address: string; port: number };
  /** The broker user this connection authenticates as (from the URL; amqplib's default `guest` without one). */
  readonly user: string;
  private readonly logger: MessagingLogger;
  private readonly maskedUrl: string;
  /** TLS options for `amqps://` (amqplib hands them to `tls.connect`). */
  private readonly tls: { ca?: Buffer[] };
  private model: ChannelModel | undefined;
  private blocked = false;
  private setupComplete = false;
  private closed = false;
  private started = false;
  /** Failed connects (and failed setups) since the last fully set-up connection; drives the backoff. */
  private failures = 0;
  private readonly registrations = new Set<Registration>();
  /** Setups run one at a time, in order, whatever triggered them. */
  private setupQueue: Promise<void> = Promise.resolve();
  private connecting: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private firstConnect: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void };

  constructor(private readonly options: RabbitMqConnectionOptions) {
    const parsed = parseUrl(options.url);
    if (!parsed.searchParams.has('heartbeat'))
      parsed.searchParams.set('heartbeat', String(options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS));
    this.url = parsed.toString();
    this.endpoint = {
      address: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: parsed.port ? Number(parsed.port) : parsed.protocol === 'amqps:' ? 5671 : 5672,
    };
    this.user = parsed.username ? decodeURIComponent(parsed.username) : 'guest';
    this.maskedUrl = maskUrl(options.url);
    this.tls = options.caFile === undefined ? {} : { ca: [readCaFile(options.caFile)] };
    this.logger = options.logger ?? silentLogger;
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // start() may never be awaited before close(); that rejection is not an unhandled one.
    promise.catch(() => undefined);
    this.firstConnect = { promise, resolve, reject };
  }

  /**
   * Connects (retrying with backoff until it works or `close()` is called) and keeps reconnecting after losses.
   * Resolves once connected with every setup registered so far done; rejects only if `close()` comes first.
   */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectionClosedError());
    if (!this.started) {
      this.started = true;
      this.connecting = this.connectLoop(false);
    }
    return this.firstConnect.promise;
  }

  /**
   * Registers `setup` to run on every (re)connect. When already connected it runs now, and the returned promise
   * rejects if it fails on a live connection (then it is not kept). Resolves to a function that unregisters it.
   * A setup that fails after a reconnect drops that connection and the reconnect starts over with backoff.
   * Channels opened in a setup need an `error` listener: an unheard channel error would take the connection down.
   */
  async onConnected(setup: ConnectedCallback): Promise<() => void> {
    if (this.closed) throw new ConnectionClosedError();
    const registration: Registration = { setup, ranOn: undefined };
    this.registrations.add(registration);
    const unregister = (): void => {
      this.registrations.delete(registration);
    };
    const model = this.model;
    if (model) {
      try {
        await this.enqueueSetup(() => this.runRegistration(registration, model));
      } catch (error) {
        // Lost the connection meanwhile: it runs again after the reconnect. Otherwise it is the caller's error.
        if (this.model === model && !this.closed) {
          unregister();
          throw error;
        }
      }
    }
    return unregister;
  }

  /** The open connection, or undefined while (re)connecting. */
  current(): ChannelModel | undefined {
    return this.model;
  }

  /** For `/health/ready`: connected and every registered setup done on this connection. */
  get isReady(): boolean {
    return this.model !== undefined && this.setupComplete && !this.closed;
  }

  health(): ConnectionHealth {
    return { connected: this.model !== undefined, blocked: this.model !== undefined && this.blocked };
  }

  /** Closes the connection for good: no reconnect afterwards. Channels on it close too. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.firstConnect.reject(new ConnectionClosedError());
    this.wakeUp?.();
    const model = this.model;
    this.model = undefined;
    this.setupComplete = false;
    if (model) await closeModel(model);
    // A connect in progress (to an unreachable host it lasts the whole connect timeout) must not stall a shutdown:
    // wait a bounded time; if it completes later, the loop sees `closed` and closes what it got.
    if (this.connecting) await settledWithin(this.connecting, CLOSE_TIMEOUT_MS);
    this.logger.info({ url: this.maskedUrl }, 'rabbitmq connection closed');
  }

  private async connectLoop(afterLoss: boolean): Promise<void> {
    let wait = afterLoss;
    while (!this.closed) {
      if (wait) await this.sleep(this.nextDelay());
      wait = true;
      if (this.closed) return;
      let model: ChannelModel;
      try {
        model = await amqp.connect(this.url, {
          timeout: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
          // amqplib calls setNoDelay(false) unless told: Nagle then holds a publish's header and body frames back
          // until the broker's delayed ACK (~40 ms), capping publish-and-confirm at ~29/s (979/s with it).
          noDelay: true,
          clientProperties: { connection_name: this.options.connectionName ?? 'switchyard' },
          ...this.tls,
        });
      } catch (error) {
        this.logger.warn(
          { url: this.maskedUrl, attempt: this.failures + 1, ...errorFields(error) },
          'rabbitmq connect failed; retrying',
        );
        continue;
      }
      if (this.closed) {
        await closeModel(model);
        return;
      }
      this.adopt(model);
      return;
    }
  }

  private adopt(model: ChannelModel): void {
    this.model = model;
    this.blocked = false;
    this.setupComplete = false;
    model.on('error', (error: Error) => this.lost(model, error));
    model.on('close', (error?: Error) => this.lost(model, error));
    model.on('blocked', (reason: string) => {
      if (this.model !== model) return;
      this.blocked = true;
      this.logger.warn(
        { url: this.maskedUrl, reason },
        'rabbitmq blocked this connection: publishes wait until it unblocks',
      );
    });
    model.on('unblocked', () => {
      if (this.model !== model) return;
      this.blocked = false;
      this.logger.info({ url: this.maskedUrl }, 'rabbitmq unblocked this connection');
    });
    this.logger.info({ url: this.maskedUrl }, 'rabbitmq connected');
    this.enqueueSetup(async () => {
      for (const registration of [...this.registrations]) await this.runRegistration(registration, model);
    }).then(
      () => {
        if (this.model !== model) return;
        this.setupComplete = true;
        this.failures = 0;
        this.firstConnect.resolve();
      },
      (error: unknown) => {
        if (this.model !== model || this.closed) return;
        // A half set-up connection would look healthy while consuming nothing: drop it and try again with backoff.
        this.failures++;
        this.logger.error({ url: this.maskedUrl, ...errorFields(error) }, 'setup after connect failed; reconnecting');
        void closeModel(model);
      },
    );
  }

  /** Handles `error` and `close` alike; whichever comes first wins, so each loss reconnects exactly once. */
  private lost(model: ChannelModel, error: Error | undefined): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.blocked = false;
    this.setupComplete = false;
    if (this.closed) return;
    this.logger.warn(
      { url: this.maskedUrl, ...(error ? errorFields(error) : {}) },
      'rabbitmq connection lost; reconnecting',
    );
    this.connecting = this.connectLoop(true);
  }

  private async runRegistration(registration: Registration, model: ChannelModel): Promise<void> {
    if (registration.ranOn === model || !this.registrations.has(registration) || this.model !== model) return;
    await registration.setup(model);
    registration.ranOn = model;
  }

  private enqueueSetup(step: () => Promise<void>): Promise<void> {
    const run = this.setupQueue.then(step);
    this.setupQueue = run.catch(() => undefined);
    return run;
  }

  /** Equal jitter: half the capped exponential delay, plus up to as much again at random. */
  private nextDelay(): number {
    this.failures++;
    const initial = this.options.reconnectInitialDelayMs ?? DEFAULT_RECONNECT_INITIAL_DELAY_MS;
    const max = this.options.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS;
    const base = Math.min(max, initial * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`invalid RabbitMQ URL ${maskUrl(url)}`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:')
    throw new TypeError(`RabbitMQ URL must start with amqp:// or amqps://, got ${maskUrl(url)}`);
  return parsed;
}

/** Closes politely, but a broker that never sends close-ok (or a dead path) must not hang a shutdown: then the socket goes. */
async function closeModel(model: ChannelModel): Promise<void> {
  if (await settledWithin(model.close(), CLOSE_TIMEOUT_MS)) return;
  // amqplib keeps the socket on its internal connection; no public API aborts a connection.
  (model.connection as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
}

/** The CA file's contents, or an error naming the file and why (never a crash later, mid-connect). */
function readCaFile(path: string): Buffer {
  try {
    const pem = readFileSync(path);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (error) {
    throw new Error(
      `RABBITMQ_CA_FILE ${path} cannot be used: ${(error as { message?: string }).message ?? String(error)}`,
      { cause: error },
    );
  }
}
