/**
 * What a resumed execution already knows: the rows of its record as the previous coordinator left
 * them. The engine replays the workflow from the start; an attempt the journal holds is answered
 * from it (a completed step keeps its output and is never run again, a failed attempt counts
 * toward the retries), and an attempt that was in flight is dispatched again under the same
 * idempotency key, marked as a redelivery. Replay is deterministic because row ids are: the same
 * outputs route to the same steps, loop indexes and cycle rounds.
 */
import { StepFailure } from '../protocol/errors.js';
import type { AttemptRecord, StepRecord } from '../protocol/execution.js';

export type Replayed =
  | { kind: 'completed'; output: unknown; node: string }
  | { kind: 'failed'; failure: StepFailure; node?: string };

export class Journal {
  private readonly rows = new Map<string, StepRecord>();

  constructor(rows: readonly StepRecord[]) {
    for (const row of rows) this.rows.set(row.id, row);
  }

  /** The outcome of `attempt` of row `id`, when it is known. */
  lookup(id: string, attempt: number): Replayed | undefined {
    const row = this.rows.get(id);
    if (!row || attempt > row.attempts) return undefined;
    if (attempt === row.attempts) {
      if (row.status === 'completed') return { kind: 'completed', output: row.output, node: row.node ?? '' };
      if (row.status === 'failed' && row.error) {
        return { kind: 'failed', failure: StepFailure.fromWire(row.error), ...(row.node !== undefined && { node: row.node }) };
      }
      return undefined; // still running when the coordinator went: dispatch it again
    }
    // An earlier attempt: it failed (or the engine would not have tried again); replay the failure.
    const entry = lastEntry(row.history, attempt);
    const failure = new StepFailure('tool_error', entry?.error ?? `attempt ${attempt} failed before the takeover`, true);
    return { kind: 'failed', failure, ...(entry && { node: entry.node }) };
  }

  /** Where `attempt` of row `id` was last sent, when it may have run (a redelivery goes there first). */
  dispatchedTo(id: string, attempt: number): string | undefined {
    const row = this.rows.get(id);
    if (!row || row.attempts !== attempt || row.status !== 'running') return undefined;
    return lastEntry(row.history, attempt)?.node ?? row.node ?? '';
  }
}

function lastEntry(history: readonly AttemptRecord[] | undefined, attempt: number): AttemptRecord | undefined {
  if (!history) return undefined;
  for (let k = history.length - 1; k >= 0; k--) if (history[k]?.attempt === attempt) return history[k];
  return undefined;
}
