import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Young generation (new space) at or under this size: V8 has released what start-up used. */
const RELEASED_YOUNG_MIB = 4;

/** The young generation's size now, MiB. */
function youngGenerationMib(): number {
  const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return young ? young.space_size / (1024 * 1024) : 0;
}

/** One full garbage collection now. `gc` is reached through a fresh context: the process's own global gets no `gc`. */
export function collectGarbage(): void {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (() => void) | undefined;
    gc?.();
  } catch {
    /* best effort: a node runs the same without it */
  }
}

/**
 * A fallback for the memory start-up leaves behind, taken only when V8 has not released it itself.
 * Start-up (compiling modules, probing, connecting) leaves V8's young generation at 16 MiB with
 * under 1 MiB live. V8's memory reducer shrinks it to 1 MiB with one or two memory-reducing
 * collections 8 s after the first full one (16 s when start-up was still busy at 8 s): measured
 * on a `wfmesh node --no-mcp`, RSS 73 → 65 MiB. A collection of our own, at 10 s after start,
 * was for nothing when the reducer had run (a 13-18 ms pause, and the young generation grew back
 * to 2 MiB); when it had not, it pushed the reducer's collections 8 s later, into the node's first
 * idle minute, where they showed as event-loop stalls of 10-30 ms. So this looks once, at
 * `delayMs`, and collects only if the young generation is still at its start-up size.
 */
export function releaseStartupMemory(delayMs = 45_000): void {
  const timer = setTimeout(() => {
    if (youngGenerationMib() > RELEASED_YOUNG_MIB) collectGarbage();
  }, delayMs);
  timer.unref();
}
