import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** CPU as a percentage of one core (200% = both cores of this machine busy), and peak memory, over one phase. */
export interface ResourceUsage {
  /** This Node process: generator, client libraries and consumer together. */
  processCpuPercent: number;
  /** RabbitMQ's Erlang VM (beam.smp), from /proc; null when it cannot be read. */
  brokerCpuPercent: number | null;
  /** Every postgres process (server and backends, including other clients'), from /proc; null when unreadable. */
  postgresCpuPercent: number | null;
  /**
   * Every process on the machine (from /proc/stat), same unit; what it has above the three above is other load
   * (the OTLP receiver of a traced run, or anything else running): a disturbed measurement shows here.
   */
  machineCpuPercent: number | null;
  /** Peak resident set size of this process during the phase, sampled every 100 ms. */
  peakRssMb: number;
}

/** Busy clock ticks of all CPUs since boot (user, nice, system, irq, softirq, steal), or null without /proc. */
function machineBusyTicks(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return user + nice + system + irq + softirq + steal;
  } catch {
    return null;
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface ProcessCpu {
  ticks: number;
  /** Start time since boot, in clock ticks: tells a long-lived server from a short-lived CLI of the same name. */
  startedAt: number;
}

/** utime+stime (clock ticks) of every process whose command name matches, by pid; null without /proc. */
function cpuTicksOf(matches: (comm: string) => boolean): Map<number, ProcessCpu> | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const found = new Map<number, ProcessCpu>();
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      if (!matches(comm)) continue;
      // Fields after the command start at field 3 (state); utime, stime are fields 14, 15 and starttime is 22.
      const fields = stat.slice(close + 2).split(' ');
      found.set(Number(pid), { ticks: Number(fields[11]) + Number(fields[12]), startedAt: Number(fields[19]) });
    } catch {
      // The process exited while we looked.
    }
  }
  return found;
}

/**
 * CPU ticks used between two snapshots. Processes that started in between count from zero (new database
 * backends); with `oldestOnly`, only the longest-running process counts (the RabbitMQ node, not the Erlang VMs
 * that each `rabbitmqctl` call starts).
 */
function ticksBetween(
  before: Map<number, ProcessCpu> | null,
  after: Map<number, ProcessCpu> | null,
  oldestOnly: boolean,
): number | null {
  if (!before || !after || after.size === 0) return null;
  let entries = [...after.entries()];
  if (oldestOnly) entries = entries.sort((a, b) => a[1].startedAt - b[1].startedAt).slice(0, 1);
  let total = 0;
  for (const [pid, now] of entries)
    total += now.ticks - (before.get(pid)?.startedAt === now.startedAt ? before.get(pid)!.ticks : 0);
  return total;
}

const isBroker = (comm: string): boolean => comm === 'beam.smp';
const isPostgres = (comm: string): boolean => comm === 'postgres' || comm.startsWith('postgres:');

/** Starts measuring; `stop()` returns the usage since. */
export function measureResources(): { stop(): ResourceUsage } {
  const startedAt = performance.now();
  const cpu = process.cpuUsage();
  const broker = cpuTicksOf(isBroker);
  const postgres = cpuTicksOf(isPostgres);
  const machine = machineBusyTicks();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  return {
    stop() {
      clearInterval(sampler);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const seconds = (performance.now() - startedAt) / 1000;
      const used = process.cpuUsage(cpu);
      const percentOf = (ticks: number | null): number | null =>
        ticks === null ? null : Math.round((ticks / ticksPerSecond() / seconds) * 100);
      return {
        processCpuPercent: Math.round(((used.user + used.system) / 1e6 / seconds) * 100),
        brokerCpuPercent: percentOf(ticksBetween(broker, cpuTicksOf(isBroker), true)),
        postgresCpuPercent: percentOf(ticksBetween(postgres, cpuTicksOf(isPostgres), false)),
        machineCpuPercent: percentOf(machine === null ? null : (machineBusyTicks() ?? machine) - machine),
        peakRssMb: Math.round(peakRss / 2 ** 20),
      };
    },
  };
}
