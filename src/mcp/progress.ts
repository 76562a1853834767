/**
 * MCP progress for one tool call: strictly increasing values (the specification requires it, and
 * clients drop or reject anything else), and a heartbeat while nothing changes, so that a client
 * with `resetTimeoutOnProgress` keeps waiting through a step longer than its request timeout.
 */

export interface ProgressNote {
  progress: number;
  total?: number;
  message?: string;
}

export interface ProgressStreamOptions {
  /** Delivers one notification (in order; the caller serialises them). */
  send(note: ProgressNote): void;
  /** Interval of the heartbeat while the call waits (node option `mcp.progress_ms`, default 15 s). */
  heartbeatMs: number;
  /** Stops the heartbeat for good (the request was cancelled or the client left). */
  signal: AbortSignal;
}

/**
 * The next real report is at least this far above the last one (the execution's tracker counts
 * half a step for a step that starts): heartbeats stay below it, so real reports never go back.
 */
const HEARTBEAT_SPAN = 0.25;

/** A value strictly above `v` that is still visibly close to it. */
const above = (v: number): number => v + Math.max(Math.abs(v) * 1e-9, 1e-9);

export class ProgressStream {
  /** The last value sent, real or heartbeat: every new one must be above it. */
  private lastSent: number | undefined;
  /** The last real report: heartbeats repeat its message and build on its value. */
  private lastReal: ProgressNote | undefined;
  private lastRealAt = Date.now();
  private beats = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ProgressStreamOptions) {}

  /**
   * A real report. A value that would not increase (two phases that both start at 0, a tracker
   * that repeats itself) is nudged just above the last one instead of being dropped: its message
   * still says something new.
   */
  report(note: ProgressNote): void {
    if (this.opts.signal.aborted) return;
    const progress = this.lastSent !== undefined && note.progress <= this.lastSent ? above(this.lastSent) : note.progress;
    this.lastReal = { ...note, progress };
    this.lastRealAt = Date.now();
    this.beats = 0;
    this.send(this.lastReal);
  }

  /** Starts the heartbeat (idempotent); `stop()` ends it. */
  start(): void {
    if (this.timer || this.opts.signal.aborted) return;
    this.timer = setInterval(() => this.beat(), this.opts.heartbeatMs);
    this.timer.unref();
    this.opts.signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * After n beats the value is n/(n+1) of HEARTBEAT_SPAN above the last real one: strictly
   * increasing for as long as any run lasts, and never reaching the next real value.
   */
  private beat(): void {
    if (this.opts.signal.aborted) return this.stop();
    // Everything is done (the result is on its way): a beat now would pass the total.
    if (this.lastReal?.total !== undefined && this.lastReal.progress >= this.lastReal.total) return;
    this.beats++;
    const base = this.lastReal?.progress ?? 0;
    let progress = base + (HEARTBEAT_SPAN * this.beats) / (this.beats + 1);
    if (this.lastSent !== undefined && progress <= this.lastSent) progress = above(this.lastSent);
    const waited = Math.round((Date.now() - this.lastRealAt) / 1000);
    const said = this.lastReal?.message;
    this.send({
      progress,
      ...(this.lastReal?.total !== undefined && { total: this.lastReal.total }),
      message: said ? `${said} (still working, ${waited} s)` : `still working (${waited} s)`,
    });
  }

  /** Notifications sent so far. */
  get sent(): number {
    return this.count;
  }

  private count = 0;

  private send(note: ProgressNote): void {
    this.count++;
    this.lastSent = note.progress;
    this.opts.send(note);
  }
}
