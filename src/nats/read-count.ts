/**
 * Counts the messages of one read of a connection's socket. nats.js calls a subscription back
 * for every message of a read before any microtask runs, so a microtask queued at the read's first
 * message ends the count: what runs in the microtasks after it (the callers of the replies)
 * knows how many came together.
 */
export class ReadCount {
  private current = 0;
  private last = 0;
  private readonly end = (): void => {
    this.last = this.current;
    this.current = 0;
  };

  /** Counts one message of the read under way. */
  note(): void {
    if (this.current === 0) queueMicrotask(this.end);
    this.current++;
  }

  /** Messages counted so far in the read under way (0 between reads). */
  get inRead(): number {
    return this.current;
  }

  /** How many messages the read before came with. */
  get lastRead(): number {
    return this.last;
  }
}
