/**
 * Notices when this process stood still: frozen (SIGSTOP), paused by the garbage collector, or
 * starved of CPU. A cheap timer ticks every `tickMs`; a tick that comes much later than due marks
 * a stall. Peers drop a node that stalls past their dead timeout, and may give its work to
 * another node: work this node finished across such a stall must not count as done.
 */
export class StallWatch {
  private last = Date.now();
  private timer: NodeJS.Timeout | undefined;
  /** Recent stalls: [ended at, lasted ms], oldest first, bounded. */
  private readonly stalls: [number, number][] = [];
  private readonly listeners = new Set<(lastedMs: number) => void>();

  /** 250 ms: a stall is a tick at least 250 ms late, so ticking faster finds none sooner; it only wakes an idle node more often. */
  constructor(private readonly tickMs = 250) {}

  start(): this {
    this.last = Date.now();
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
    return this;
  }

  /** Told of each stall as soon as the process runs again (before the timers that came due during it). */
  onStall(listener: (lastedMs: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The longest stall that ended after `sinceMs` (0 when none). Checks the clock too, for a stall not yet ticked. */
  longestSince(sinceMs: number): number {
    this.tick();
    let longest = 0;
    for (const [endedAt, lasted] of this.stalls) if (endedAt > sinceMs && lasted > longest) longest = lasted;
    return longest;
  }

  private tick(): void {
    const now = Date.now();
    const late = now - this.last - this.tickMs;
    this.last = now;
    if (late < 250) return;
    this.stalls.push([now, late]);
    if (this.stalls.length > 64) this.stalls.shift();
    for (const l of this.listeners) l(late);
  }
}
