import type { NatsConnection } from 'nats';
import { PerConnection } from './per-connection.js';
import { ReadCount } from './read-count.js';

/**
 * At the latest, how long a publish made right after a request waits for the next request (a
 * step that runs for long: its events leave on their own after this).
 */
export const RIDE_ALONG_LATEST_MS = 20;

/**
 * Publishes that need not leave at once (an execution's events for its watchers): they leave with
 * the next request this connection sends, in the same socket write. Order is kept. At the latest:
 * - at the end of the turn of the event loop they were made in;
 * - or, made right after a request left (in the same run of code, before its microtasks ended),
 *   RIDE_ALONG_LATEST_MS later. They came too late for that request's write, and another write of
 *   their own now is what riding along avoids: the engine starts a step's successor before it
 *   records the step's end (engine/record.ts, hold), so in a chain of steps each step's events
 *   are made just after the next request's write, and leave with the one after it.
 *
 * A socket write costs 80-200 µs of CPU on a loopback connection (the kernel does the receiver's
 * side too), more than anything else a coordinator does for a step.
 */
export class RideAlong {
  private static readonly byConnection = new PerConnection((nc) => new RideAlong(nc));
  private queue: { subject: string; data: Uint8Array }[] = [];
  /** Something queued must leave at the end of this turn (it was not made right after a request). */
  private dueThisTurn = false;
  private endOfTurnScheduled = false;
  /**
   * Requests boarded in the run of code under way: counted as a read's messages are (the count
   * ends with the run's microtasks), so a publish knows whether one just left.
   */
  private readonly boardings = new ReadCount();
  /** The latest time for what came right after a request; not cleared when it leaves earlier (it then finds nothing). */
  private latest: NodeJS.Timeout | undefined;

  /** The ride-along queue of `nc` (made on first use; it lives as long as the connection). */
  static of(nc: NatsConnection): RideAlong {
    return RideAlong.byConnection.of(nc);
  }

  /**
   * Called by a sender right after it published something that had to leave at once: what waits
   * joins that publish's write. Cheap when no queue was ever made for `nc`.
   */
  static board(nc: NatsConnection): void {
    RideAlong.byConnection.peek(nc)?.boarded();
  }

  private constructor(private readonly nc: NatsConnection) {}

  /** Publishes `data` on `subject` with the next request on this connection, or at the latest as above. */
  publish(subject: string, data: Uint8Array): void {
    this.queue.push({ subject, data });
    if (this.boardings.inRead > 0) {
      this.latest ??= setTimeout(this.atLatest, RIDE_ALONG_LATEST_MS).unref();
      return;
    }
    this.dueThisTurn = true;
    if (!this.endOfTurnScheduled) {
      this.endOfTurnScheduled = true;
      setImmediate(this.atEndOfTurn);
    }
  }

  private boarded(): void {
    this.flush();
    this.boardings.note();
  }

  private readonly atEndOfTurn = (): void => {
    this.endOfTurnScheduled = false;
    if (this.dueThisTurn) this.flush();
  };

  private readonly atLatest = (): void => {
    this.latest = undefined;
    this.flush();
  };

  private flush(): void {
    this.dueThisTurn = false;
    if (this.queue.length === 0) return;
    const queued = this.queue;
    this.queue = [];
    // A closing connection drops them: watchers read the record instead.
    if (this.nc.isClosed()) return;
    for (const { subject, data } of queued) {
      try {
        this.nc.publish(subject, data);
      } catch {
        /* each publish stands alone: one that fails must not stop the others */
      }
    }
  }
}
