/**
 * How long a suspect has to refute, Lifeguard-style: long while a single node suspects it (that
 * node may be the slow one), shorter with each independent confirmation, never under the
 * minimum (which, with the probe timeout, is the dead timeout). Pure.
 */
export interface SuspicionPolicy {
  minMs: number;
  maxMs: number;
  /** Independent confirmations that bring the period down to the minimum, for a mesh of `members`. */
  expected(members: number): number;
}

/** Small meshes have few probers to confirm: the minimum applies at once. */
export function suspicionPolicy(minMs: number, maxMultiple = 3): SuspicionPolicy {
  return { minMs, maxMs: minMs * maxMultiple, expected: (members) => (members < 8 ? 0 : 2) };
}

export class Suspicion {
  /** Nodes that suspect it, the first one included. */
  readonly by = new Set<string>();

  constructor(
    readonly incarnation: number,
    /** The first to suspect it: it announces the death. */
    readonly from: string,
    private startedMs: number,
    /** The server said nobody listens on its subject (no responders): no confirmation needed. */
    private sure: boolean,
  ) {
    this.by.add(from);
  }

  /** Adds a suspecting node; returns true when it was not counted yet. */
  confirm(by: string, sure = false): boolean {
    if (sure) this.sure = true;
    if (this.by.has(by)) return false;
    this.by.add(by);
    return true;
  }

  /** This node stood still: the period waits as long. */
  extend(ms: number): void {
    this.startedMs += ms;
  }

  /** When the period ends; `scale` (>= 1) is the observing node's own health multiplier. */
  deadline(policy: SuspicionPolicy, members: number, scale = 1): number {
    const k = this.sure ? 0 : policy.expected(members);
    if (k <= 0) return this.startedMs + policy.minMs * scale;
    const c = Math.min(this.by.size - 1, k);
    const fraction = Math.log(c + 1) / Math.log(k + 1);
    return this.startedMs + Math.max(policy.minMs, policy.maxMs - (policy.maxMs - policy.minMs) * fraction) * scale;
  }
}
