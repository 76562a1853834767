/**
 * Gathers sends (replies, publishes) made during one turn of the event loop and runs them together
 * just after it (setImmediate). nats.js writes its outbound buffer to the socket once per microtask
 * checkpoint, and a busy node's replies each finish in a checkpoint of their own: one write
 * syscall per reply was the largest single cost of a busy worker. Run together, they leave in one
 * write. Order is kept; `send` skips the hop when there is nothing to batch with.
 */
export class SendBatch {
  private queue: (() => void)[] = [];
  private scheduled = false;
  private idle: (() => void)[] = [];

  /** Queues `send`; it runs at the end of this turn of the event loop, after the sends queued before it. */
  add(send: () => void): void {
    this.queue.push(send);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  /**
   * Runs `send` now when nothing is queued and `alone` (no other work in flight that could join a
   * batch: waiting a hop would only add latency), else queues it like `add`. True when it ran now.
   */
  send(send: () => void, alone: boolean): boolean {
    if (alone && this.queue.length === 0) {
      send();
      return true;
    }
    this.add(send);
    return false;
  }

  /**
   * Runs what is queued now, instead of at the end of the turn. The end-of-turn run stays
   * scheduled, for what is queued after this.
   */
  flush(): void {
    if (this.queue.length > 0) this.runQueued();
  }

  /** Resolves once every send queued so far has run. */
  settled(): Promise<void> {
    if (!this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.runQueued();
    for (const resolve of this.idle.splice(0)) resolve();
  };

  private runQueued(): void {
    const sends = this.queue;
    this.queue = [];
    for (const send of sends) {
      try {
        send();
      } catch {
        /* each send reports its own failure; one must not stop the others */
      }
    }
  }
}
