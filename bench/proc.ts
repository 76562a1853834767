// What the bench reads about processes from /proc: CPU time and resident memory (Linux only).
import { readFileSync } from 'node:fs';

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
