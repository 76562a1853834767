import type { NatsConnection } from 'nats';

/** What nats.js 2.x keeps of a connection's protocol: the step that writes what was published. */
interface Protocol {
  flushPending(): void;
}

/** The connection's protocol handler when it has the flush writeNow uses; undefined otherwise. */
function protocolOf(nc: NatsConnection): Protocol | undefined {
  const protocol = (nc as { protocol?: Partial<Protocol> }).protocol;
  return typeof protocol?.flushPending === 'function' ? (protocol as Protocol) : undefined;
}

/**
 * Writes what `nc` has buffered to its socket now, instead of when the current run of microtasks
 * ends (nats.js writes once per run, so that many publishes in a row share one write).
 *
 * For a request that is the only one out, that wait is pure delay: whatever else was already
 * queued in the run goes first. In a chain of steps through the engine, the bookkeeping of the
 * step that just ended (its record change, its observers, the next step's routing) ran between
 * the next step's publish and its write: the round trip measured from the publish was 20-50 µs
 * longer than the dispatcher's own. With several requests out, writes stay batched.
 *
 * nats.js has no public call for it: this uses its protocol handler's own flush (nats 2.29), and
 * does nothing where a version lacks it (test/unit/nats/write-now.test.ts checks that it is there).
 */
export function writeNow(nc: NatsConnection): void {
  protocolOf(nc)?.flushPending();
}

/** Whether this nats.js lets writeNow write at once (false: it waits for the end of the run, as before). */
export function canWriteNow(nc: NatsConnection): boolean {
  return protocolOf(nc) !== undefined;
}
