import type { NatsConnection } from 'nats';
import { PerConnection } from './per-connection.js';
import { SendBatch } from './send-batch.js';

/**
 * Publishes that need not leave at once (an execution's events for its watchers): they leave with
 * the next request this connection sends anyway, in the same socket write, or at the end of the
 * turn of the event loop at the latest (a SendBatch per connection). Order is kept.
 *
 * A socket write costs 80-200 µs of CPU on a loopback connection (the kernel does the receiver's
 * side too), more than anything else a coordinator does for a step. In a chain of steps, a step's
 * event and the next step's request are made in the same turn, but the request left at once and
 * the event a moment later: two writes per step, now one.
 */
export class RideAlong {
  private static readonly byConnection = new PerConnection((nc) => new RideAlong(nc));
  private readonly waiting = new SendBatch();

  /** The ride-along queue of `nc` (made on first use; it lives as long as the connection). */
  static of(nc: NatsConnection): RideAlong {
    return RideAlong.byConnection.of(nc);
  }

  /**
   * Called by a sender right after it published something that had to leave at once: what waits
   * joins that publish's write. Cheap when nothing waits (or no queue was ever made for `nc`).
   */
  static board(nc: NatsConnection): void {
    RideAlong.byConnection.peek(nc)?.waiting.flush();
  }

  private constructor(private readonly nc: NatsConnection) {}

  /** Publishes `data` on `subject` with the next write on this connection, or at the end of this turn. */
  publish(subject: string, data: Uint8Array): void {
    this.waiting.add(() => {
      // A closing connection drops it: watchers read the record instead.
      if (!this.nc.isClosed()) this.nc.publish(subject, data);
    });
  }
}
