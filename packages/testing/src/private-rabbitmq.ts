// A RabbitMQ node of the test's own, for tests that stop the broker, raise memory alarms or change node-wide
// settings: those must never touch the shared node (rabbit@localhost on 5672) other tests use at the same time.
// It runs from the installed RabbitMQ (/usr/lib/rabbitmq/bin) as the current user (root here, whose
// ~/.erlang.cookie the CLI and the node then share), with its own node name, ports, data, logs and config file.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './service-process.js';

const RABBITMQ_BIN = process.env.RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';
/** rabbitmqctl boots an Erlang VM per call (~1 s, several on a loaded machine). */
const CTL_TIMEOUT_MS = 120_000;
/** Booting a fresh node takes 5–10 s here; give a loaded 2-core machine plenty. */
const BOOT_TIMEOUT_SECONDS = 120;

export interface PrivateRabbitMq {
  /** e.g. `sy-faults-1a2b@localhost`. */
  nodeName: string;
  /** AMQP port on 127.0.0.1. */
  port: number;
  /** `amqp://guest:guest@127.0.0.1:<port>/<vhost>`; the node lets guest in over loopback. */
  url(vhost?: string): string;
  /** Runs `rabbitmqctl -n <node> ...args` and returns its stdout. */
  ctl(args: string[]): Promise<string>;
  /** A fresh vhost with guest allowed everything. */
  addVhost(name: string): Promise<void>;
  /** `rabbitmqctl import_definitions` of these definitions (e.g. `brokerIdentityDefinitions`), read from stdin. */
  importDefinitions(definitions: Record<string, unknown>): Promise<void>;
  /** `rabbitmqctl stop_app`: the node stays up, RabbitMQ itself stops (every connection closes). */
  stopApp(): Promise<void>;
  /** `rabbitmqctl start_app`, then waits until it serves again. */
  startApp(): Promise<void>;
  /** `rabbitmqctl set_vm_memory_high_watermark <fraction>`: a tiny one raises the memory alarm and blocks publishers. */
  setMemoryWatermark(fraction: number): Promise<void>;
  /** Stops the node and deletes its files. Safe to call twice and after a failed start. */
  stop(): Promise<void>;
}

export async function startPrivateRabbitMq(label: string): Promise<PrivateRabbitMq> {
  const dir = mkdtempSync(join(tmpdir(), `sy-rabbitmq-${label}-`));
  const nodeName = `sy-${label.replace(/\W/g, '-')}-${process.pid}@localhost`;
  const [port, distPort] = [await freePort(), await freePort()];
  const pidFile = join(dir, 'rabbitmq.pid');
  const files = {
    config: join(dir, 'rabbitmq.conf'),
    env: join(dir, 'rabbitmq-env.conf'),
    plugins: join(dir, 'enabled_plugins'),
  };
  // Our own config file and env file: the machine's /etc/rabbitmq ones name the shared node and its port.
  writeFileSync(files.config, `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users.guest = true\n`);
  writeFileSync(files.env, '');
  writeFileSync(files.plugins, '[].\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: pidFile,
    RABBITMQ_ENABLED_PLUGINS_FILE: files.plugins,
    RABBITMQ_CONFIG_FILE: files.config,
    RABBITMQ_CONF_ENV_FILE: files.env,
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };

  const run = (tool: string, args: string[], timeout = CTL_TIMEOUT_MS, input = ''): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = execFile(join(RABBITMQ_BIN, tool), args, { env, timeout }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        reject(new Error(`${tool} ${args.join(' ')} failed: ${String(stderr || stdout || error.message).trim()}`));
      });
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input);
    });
  const ctl = (args: string[]): Promise<string> => run('rabbitmqctl', ['-q', '-n', nodeName, ...args]);
  const awaitRunning = (): Promise<string> => ctl(['await_startup', '--timeout', String(BOOT_TIMEOUT_SECONDS)]);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // `stop <pidfile>` returns once the OS process is gone; if the CLI cannot reach it, the pid file still can.
    await ctl(['stop', pidFile]).catch(() => {
      const pid = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
      if (/^\d+$/.test(pid)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const server = spawn(join(RABBITMQ_BIN, 'rabbitmq-server'), ['-detached'], { env, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      server.on('error', reject);
      server.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`rabbitmq-server -detached exited ${code}`)),
      );
    });
    await ctl(['wait', pidFile, '--timeout', String(BOOT_TIMEOUT_SECONDS)]);
  } catch (error) {
    await stop();
    throw new Error(`private RabbitMQ node ${nodeName} did not start: ${String(error)}`, { cause: error });
  }

  return {
    nodeName,
    port,
    url: (vhost = '/') => `amqp://guest:guest@127.0.0.1:${port}/${encodeURIComponent(vhost)}`,
    ctl,
    addVhost: async (name) => {
      await ctl(['add_vhost', name]);
      await ctl(['set_permissions', '-p', name, 'guest', '.*', '.*', '.*']);
    },
    importDefinitions: async (definitions) => {
      await run(
        'rabbitmqctl',
        ['-q', '-n', nodeName, 'import_definitions', '--format', 'json'],
        CTL_TIMEOUT_MS,
        JSON.stringify(definitions),
      );
    },
    stopApp: async () => {
      await ctl(['stop_app']);
    },
    startApp: async () => {
      await ctl(['start_app']);
      await awaitRunning();
    },
    setMemoryWatermark: async (fraction) => {
      await ctl(['set_vm_memory_high_watermark', String(fraction)]);
    },
    stop,
  };
}
