/**
 * The open executions of the store (not finished), as the headers say, kept up to date by reading
 * only the headers written since the last look. The recovery passes (the sweeper every 30 s, and
 * one pass per loss of nodes) look for orphans among them: reading every header on each pass grew
 * with the store's whole history, and a finished header carries its rows.
 */
import type { ExecutionRecord } from '../protocol/execution.js';
import type { ExecutionStore } from '../store/index.js';

/**
 * Every this many looks, the store is read whole again instead of from the last revision: what an
 * incremental read cannot see (a bucket recreated under the same name, a delete marker that aged
 * out) lasts at most that long.
 */
const FULL_READ_EVERY = 20;

/** What a recovery pass needs of an open execution (a header may carry a large input: it is not kept). */
export type OpenExecution = Pick<ExecutionRecord, 'execution_id' | 'coordinator' | 'updated_at'>;

export class OpenExecutions {
  private readonly open = new Map<string, OpenExecution>();
  /** The newest revision read; 0 before the first read. */
  private revision = 0;
  private looks = 0;
  /** The read under way: concurrent looks share it. */
  private reading: Promise<void> | undefined;

  constructor(private readonly store: ExecutionStore) {}

  /** The open executions the store holds now (one read of what changed since the last look). */
  async now(): Promise<OpenExecution[]> {
    await (this.reading ??= this.read().finally(() => (this.reading = undefined)));
    return [...this.open.values()];
  }

  private async read(): Promise<void> {
    const whole = this.looks++ % FULL_READ_EVERY === 0;
    const from = whole ? 0 : this.revision;
    const seen = whole ? new Map<string, OpenExecution>() : this.open;
    const newest = await this.store.headerChangesSince(from, ({ execution_id, open }) => {
      if (open) seen.set(execution_id, { execution_id, coordinator: open.coordinator, updated_at: open.updated_at });
      else seen.delete(execution_id);
    });
    if (whole) {
      // Replaced only once the read succeeded: a failed read leaves the last good view.
      this.open.clear();
      for (const [id, record] of seen) this.open.set(id, record);
    }
    this.revision = newest;
  }
}
