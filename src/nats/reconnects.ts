import type { NatsConnection } from 'nats';
import { PerConnection } from './per-connection.js';

/**
 * Tells waiters when their connection reconnects: a request that was on the wire then (to the
 * server that went away) will never be answered, and nats.js lets it wait out its whole timeout.
 * One status listener per connection; a waiter registers a callback for one wait (no promise
 * that lives forever collecting reactions), or for good (the requester's resend).
 */
export class Reconnects {
  private static readonly byConnection = new PerConnection((nc) => new Reconnects(nc));
  private readonly waiters = new Set<() => void>();

  /** The signal of `nc` (made on first use; it lives as long as the connection). */
  static of(nc: NatsConnection): Reconnects {
    return Reconnects.byConnection.of(nc);
  }

  private constructor(nc: NatsConnection) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type !== 'reconnect') continue;
        for (const w of [...this.waiters]) w();
      }
    })();
  }

  /** Calls `onReconnect` at every reconnect, for as long as the connection lives. */
  every(onReconnect: () => void): void {
    this.waiters.add(onReconnect);
  }

  /** Calls `onReconnect` at the next reconnect; returns the function that stops listening. */
  next(onReconnect: () => void): () => void {
    const once = (): void => {
      this.waiters.delete(once);
      onReconnect();
    };
    this.waiters.add(once);
    return () => this.waiters.delete(once);
  }
}
