import type { Logger } from 'pino';
import type { ExecutionRecord } from '../protocol/execution.js';
import { isTerminal, type ExecutionStore, type StoredExecution } from './execution-store.js';

/**
 * The coordinator's writes of one execution record. Step changes arrive faster than KV round
 * trips: `push` never waits, at most one write is in flight, and only the newest pending state is
 * written next (a 10-step run does a handful of writes, not 30 sequential ones). Every write is a
 * compare-and-swap on the revision this writer last wrote; when another node ended the execution
 * meanwhile (cancel, coordinator declared lost), its verdict stands and `onSuperseded` is told.
 */
export class RecordWriter {
  private revision: number;
  private pending: ExecutionRecord | undefined;
  private inflight: Promise<void> | undefined;
  private superseded: StoredExecution | undefined;

  constructor(
    private readonly store: ExecutionStore,
    created: StoredExecution,
    private readonly log: Logger,
    private readonly onSuperseded: (stored: ExecutionRecord) => void = () => undefined,
  ) {
    this.revision = created.revision;
  }

  /** Queues the newest state; returns at once. */
  push(record: ExecutionRecord): void {
    if (this.superseded) return;
    this.pending = record;
    this.inflight ??= this.drain();
  }

  /** Writes the final state after what is in flight; resolves with what the store holds in the end. */
  async finish(record: ExecutionRecord): Promise<ExecutionRecord> {
    this.push(record);
    for (let attempt = 0; attempt < 3; attempt++) {
      while (this.inflight) await this.inflight;
      if (this.superseded) return this.superseded.record;
      if (!this.pending) return record;
      // The last drain failed (NATS hiccup): try again, a little later each time.
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      this.inflight ??= this.drain();
    }
    this.log.error({ execution: record.execution_id }, 'could not write the final execution record; its stored state is stale');
    return record;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending && !this.superseded) {
        const next = this.pending;
        this.pending = undefined;
        try {
          await this.write(next);
        } catch (err) {
          // Keep the newest state for the next push or for finish(); never lose it to a hiccup.
          this.pending ??= next;
          this.log.warn({ execution: next.execution_id, err: (err as Error).message }, 'execution record write failed; will retry');
          return;
        }
      }
    } finally {
      this.inflight = undefined;
    }
  }

  private async write(record: ExecutionRecord): Promise<void> {
    const revision = await this.store.replace(record, this.revision);
    if (revision !== undefined) {
      this.revision = revision;
      return;
    }
    const stored = await this.store.get(record.execution_id);
    if (!stored) {
      // Expired or purged under us: write it again rather than lose the execution.
      this.revision = await this.store.create(record);
      return;
    }
    if (isTerminal(stored.record.status)) {
      this.superseded = stored;
      this.log.info({ execution: record.execution_id, status: stored.record.status }, 'another node ended this execution; its verdict stands');
      this.onSuperseded(stored.record);
      return;
    }
    // Someone else wrote a non-final state (an older coordinator's late write): ours is newer.
    this.revision = stored.revision;
    const retried = await this.store.replace(record, stored.revision);
    if (retried !== undefined) this.revision = retried;
    else this.pending ??= record;
  }
}
