import { readFile } from 'node:fs/promises';
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

/** MemAvailable from /proc/meminfo, in MiB; undefined if it is missing. Pure. */
export function parseMemAvailableMib(text: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(text);
  return m ? Math.round(Number(m[1]) / 1024) : undefined;
}

const MIB = 1024 * 1024;

/**
 * Live figures (CPU %, free memory) refreshed in the background, so that heartbeats and placement
 * read a number and never wait on a probe. It reads /proc with fs.promises (the event loop never
 * waits on it: systeminformation's currentLoad() runs execSync and stalled every process for
 * 5-40 ms once a second) and works out CPU % itself; off Linux it falls back to the load average.
 * One sampler per process, shared by the nodes in it (`wfmesh up`); it stops with its last user.
 */
export class LiveLoadSampler {
  cpuPct = 0;
  freeMib = 0;
  private timer: NodeJS.Timeout | undefined;
  private users = 0;
  /** The previous /proc/stat reading (zero at start: the first figure is the average since boot). */
  private last: CpuTimes = { idle: 0, total: 0 };
  private static current: Promise<LiveLoadSampler> | undefined;

  /** The process's sampler (started on first use); call `stop()` once when done with it. */
  static async acquire(intervalMs: number): Promise<LiveLoadSampler> {
    LiveLoadSampler.current ??= (async () => {
      const sampler = new LiveLoadSampler();
      await sampler.sample();
      sampler.timer = setInterval(() => void sampler.sample(), intervalMs);
      sampler.timer.unref();
      return sampler;
    })();
    const sampler = await LiveLoadSampler.current;
    sampler.users++;
    return sampler;
  }

  /** Takes one reading (exposed for tests; the timer calls it). */
  async sample(): Promise<void> {
    const [stat, meminfo] = await Promise.all([readFile('/proc/stat', 'utf8').catch(() => ''), readFile('/proc/meminfo', 'utf8').catch(() => '')]);
    const times = parseProcStat(stat);
    if (times) {
      this.cpuPct = cpuPctBetween(this.last, times);
      this.last = times;
    } else {
      this.cpuPct = Math.round(Math.min(100, (loadavg()[0]! / availableParallelism()) * 100) * 10) / 10;
    }
    this.freeMib = parseMemAvailableMib(meminfo) ?? Math.round(freemem() / MIB);
  }

  /** Releases this user's hold; the last one stops the sampling. */
  stop(): void {
    if (--this.users > 0) return;
    if (this.timer) clearInterval(this.timer);
    LiveLoadSampler.current = undefined;
  }
}
