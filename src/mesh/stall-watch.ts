/**
 * Notices when this process stood still: frozen (SIGSTOP), paused by the garbage collector, or
 * starved of CPU. A cheap timer ticks every `tickMs` while it is started; a tick that comes much
 * later than due marks a stall. Peers drop a node that stalls past their dead timeout, and may
 * give its work to another node: work this node was doing across such a stall must stop. The
 * step server starts it while steps run, so an idle node never wakes for it.
 */
export class StallWatch {
  private last = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(lastedMs: number) => void>();

  /** 250 ms: a stall is a tick at least 250 ms late, so ticking faster finds none sooner; it only wakes the node more often. */
  constructor(private readonly tickMs = 250) {}

  /** Starts ticking (again); a no-op while started. */
  start(): this {
    if (this.timer) return this;
    this.last = Date.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
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

  private tick(): void {
    const now = Date.now();
    const late = now - this.last - this.tickMs;
    this.last = now;
    if (late < 250) return;
    for (const l of this.listeners) l(late);
  }
}
