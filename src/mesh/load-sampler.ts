import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, loadavg } from 'node:os';

/** Cumulative CPU time of the whole machine, in clock ticks: what /proc/stat's `cpu` line counts. */
export interface CpuTimes {
  /** Ticks spent idle (idle + iowait). */
  idle: number;
  /** Every tick counted (guest time is already inside user/nice, so it is left out). */
  total: number;
}

/** The aggregate `cpu ` line of /proc/stat as idle and total ticks; undefined if it has none. Pure. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n', 1)[0] ?? '';
  if (!line.startsWith('cpu ')) return undefined;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return undefined;
  const idle = f[3]! + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { idle, total };
}

/** Busy share of the machine between two readings, 0-100 with one decimal. Pure. */
export function cpuPctBetween(prev: CpuTimes, next: CpuTimes): number {
  const total = next.total - prev.total;
  if (total <= 0) return 0;
  const busy = total - (next.idle - prev.idle);
  return Math.round(Math.min(100, Math.max(0, (busy / total) * 100)) * 10) / 10;
}

const MIB = 1024 * 1024;

/**
 * Live figures (CPU %, free memory), read when someone asks and at most once per interval: a
 * probe's answer or a heartbeat reads a number and the node never wakes for it on its own (a
 * timer, and the thread-pool round trips of reading two files, woke an idle node about ten times
 * a second: with the stall watch's ticks, a quarter of its idle CPU).
 *
 * /proc/stat is read synchronously: a procfs read takes tens of microseconds and never waits on a
 * disk (systeminformation's currentLoad() instead runs execSync and stalled every process for
 * 5-40 ms). CPU % is worked out between two readings; off Linux, the load average stands in. Free
 * memory is the kernel's MemAvailable (os.freemem). One sampler per process, shared by the nodes
 * in it (`wfmesh up`).
 */
export class LiveLoadSampler {
  private cpu = 0;
  private free = 0;
  private sampledAt = 0;
  private users = 0;
  /** The previous /proc/stat reading (zero at start: the first figure is the average since boot). */
  private last: CpuTimes = { idle: 0, total: 0 };
  private static current: LiveLoadSampler | undefined;

  private constructor(private readonly intervalMs: number) {}

  /** The process's sampler (made on first use); call `stop()` once when done with it. */
  static acquire(intervalMs: number): LiveLoadSampler {
    const sampler = (LiveLoadSampler.current ??= new LiveLoadSampler(intervalMs));
    sampler.users++;
    return sampler;
  }

  /** Busy share of the machine, 0-100, over the time since the previous reading. */
  get cpuPct(): number {
    this.refresh();
    return this.cpu;
  }

  /** Memory the machine can still give out, MiB. */
  get freeMib(): number {
    this.refresh();
    return this.free;
  }

  /** Takes one reading now (exposed for tests; reading the figures takes one when they are stale). */
  sample(): void {
    this.sampledAt = Date.now();
    let stat = '';
    try {
      stat = readFileSync('/proc/stat', 'utf8');
    } catch {
      // Not Linux: the load average below.
    }
    const times = parseProcStat(stat);
    if (times) {
      this.cpu = cpuPctBetween(this.last, times);
      this.last = times;
    } else {
      this.cpu = Math.round(Math.min(100, (loadavg()[0]! / availableParallelism()) * 100) * 10) / 10;
    }
    this.free = Math.round(freemem() / MIB);
  }

  /** Releases this user's hold; after the last one the next acquire makes a new sampler. */
  stop(): void {
    if (--this.users > 0) return;
    if (LiveLoadSampler.current === this) LiveLoadSampler.current = undefined;
  }

  private refresh(): void {
    if (Date.now() - this.sampledAt >= this.intervalMs) this.sample();
  }
}
