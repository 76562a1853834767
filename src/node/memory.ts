import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * One full garbage collection a moment after a node has started. Start-up (compiling modules,
 * probing, connecting) leaves V8's young generation at its full 32 MiB with under 1 MiB live, and
 * an idle node allocates too slowly for V8 to shrink it on its own for many minutes: measured on a
 * `wfmesh node --no-mcp`, RSS 92 MiB before this collection, 78 MiB after. V8 shrinks the young
 * generation only when it sees the allocation rate low, so the collection waits until start-up has
 * been quiet for a while (at 6 s it sometimes did not shrink; at 10 s it did every time). `gc` is
 * reached through a fresh context, so the process's own global gets no `gc`.
 */
export function releaseStartupMemory(delayMs = 10_000): void {
  const timer = setTimeout(() => {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as (() => void) | undefined;
      gc?.();
    } catch {
      /* best effort: a node runs the same without it */
    }
  }, delayMs);
  timer.unref();
}
