// What the bench reads about processes from /proc: CPU time and resident memory (Linux only).
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux the bench runs on). */
const TICK_US = 10_000;

/** CPU time (user + system) a process has used so far, µs; 0 when it is gone. */
export function processCpuUs(pid: number): number {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

/** Resident memory of a process, MiB (one decimal). */
export function processRssMib(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round((Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** Sums CPU time over a set of processes between `start()` and `stop()`, µs. */
export function cpuMeter(pids: readonly number[]): { stop(): number } {
  const before = pids.map(processCpuUs);
  return { stop: () => pids.reduce((sum, pid, i) => sum + processCpuUs(pid) - before[i]!, 0) };
}

/**
 * How often a process's threads were put on a CPU so far, and for how long in all (ns), from
 * /proc/<pid>/task/<tid>/schedstat (run time, wait time, timeslices). An idle process is put on a
 * CPU once per wake-up, plus once per preemption while it runs; zeros when it is gone.
 */
function processRuns(pid: number): { runs: number; ns: number } {
  let runs = 0;
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [run, , slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      ns += run ?? 0;
      runs += slices ?? 0;
    }
  } catch {
    // gone, or a thread that ended between the listing and the read: what was read so far
  }
  return { runs, ns };
}

/** How often a process woke over a window, and the CPU each wake-up cost. */
export interface Wakes {
  wakes_per_s: number;
  cpu_us_per_wake: number;
}

/**
 * The CPU time of a process over a window, from the scheduler's own count (ns, every thread), next
 * to its wake-ups. Idle processes need it: /proc/<pid>/stat counts 10 ms clock ticks, charged to
 * whatever runs when the tick lands, so a process that runs 0.3 ms at a time gets 0, 1 or 2 ticks
 * in a minute by chance (0.017% of a core each over 60 s).
 */
export function runMeter(pid: number): { stop(): Wakes & { cpu_us: number } } {
  const wakes = wakeMeter(pid);
  const before = processRuns(pid);
  return {
    stop: () => {
      const after = processRuns(pid);
      return { ...wakes.stop(), cpu_us: Math.round((after.ns - before.ns) / 1000) };
    },
  };
}

/** Wake-ups per second of a process between the call and `stop()`, and the CPU each one cost (µs). */
export function wakeMeter(pid: number): { stop(): Wakes } {
  const before = processRuns(pid);
  const t0 = performance.now();
  return {
    stop: () => {
      const after = processRuns(pid);
      const runs = after.runs - before.runs;
      const seconds = (performance.now() - t0) / 1000;
      return {
        wakes_per_s: Math.round((runs / seconds) * 100) / 100,
        cpu_us_per_wake: runs > 0 ? Math.round((after.ns - before.ns) / runs / 1000) : 0,
      };
    },
  };
}
