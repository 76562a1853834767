/**
 * Whether anything runs in the mesh: while something does, nodes probe at the busy rate (a dead
 * node noticed within seconds); while nothing has for a while, at the idle rate. A node that has
 * work (a step running here, an execution it coordinates) tells the mesh with one broadcast, and
 * again only when nobody has told it for half the linger: a busy mesh sends about one such
 * message per half linger in all, whatever its size.
 */
export class MeshActivity {
  /** The mesh counts as busy until then (epoch ms). */
  private until = 0;

  /** `lingerMs`: how long the mesh stays busy after the last time a node said it had work. */
  constructor(readonly lingerMs: number) {}

  /** Whether a node said it had work within the linger. */
  busy(now = Date.now()): boolean {
    return now < this.until;
  }

  /** A node (this one or a peer) has work: busy for the linger from now. True when the mesh was idle until then. */
  extend(now = Date.now()): boolean {
    const wasIdle = now >= this.until;
    this.until = Math.max(this.until, now + this.lingerMs);
    return wasIdle;
  }

  /** Whether a node with work should say so now: nobody has within half the linger. */
  dueToTell(now = Date.now()): boolean {
    return this.until - now < this.lingerMs / 2;
  }
}
