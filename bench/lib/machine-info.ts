import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import pg from 'pg';
import amqp from 'amqplib';

/** The machine and the versions a result was measured with, read at run time. */
export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs Node sees. */
  cpus: number;
  memoryGb: number;
  kernel: string;
  node: string;
  rabbitmq: string;
  erlang: string;
  postgres: string;
  /** 1-minute load average when the run started: anything well above 0 means something else was running. */
  loadAverage1m: number;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

async function brokerVersions(amqpUrl: string): Promise<{ rabbitmq: string; erlang: string }> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const props =
      (connection.connection as unknown as { serverProperties?: Record<string, unknown> }).serverProperties ?? {};
    return { rabbitmq: String(props.version ?? 'unknown'), erlang: erlangVersion() };
  } finally {
    await connection.close();
  }
}

function erlangVersion(): string {
  try {
    return execFileSync('erl', ['-noshell', '-eval', 'io:format("~s", [erlang:system_info(otp_release)]), halt().'], {
      encoding: 'utf8',
      timeout: 20_000,
    }).trim();
  } catch {
    return 'unknown';
  }
}

async function postgresVersion(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

export async function describeMachine(amqpUrl: string, databaseUrl: string): Promise<MachineInfo> {
  const [broker, postgres] = await Promise.all([brokerVersions(amqpUrl), postgresVersion(databaseUrl)]);
  return {
    cpuModel: cpuModel(),
    cpus: cpus().length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    ...broker,
    postgres,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}
