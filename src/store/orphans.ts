import type { ExecutionRecord } from '../protocol/execution.js';
import { isTerminal, type ExecutionStore } from './execution-store.js';

/**
 * The record of an execution whose coordinator is gone, ended honestly: failed, with the reason,
 * its running steps failed with it and its pending ones cancelled.
 */
export function endOrphan(record: ExecutionRecord, message: string, now = new Date().toISOString()): ExecutionRecord {
  return {
    ...record,
    status: 'failed',
    error: { type: 'node_lost', message },
    steps: record.steps.map((s) => {
      if (s.status === 'running') return { ...s, status: 'failed', ended_at: now, error: { type: 'node_lost', message, retryable: false } };
      if (s.status === 'pending') return { ...s, status: 'cancelled' };
      return s;
    }),
    updated_at: now,
    ended_at: now,
  };
}

/**
 * Marks every unfinished record that `orphaned` selects as failed with `reason(record)`. Each write
 * is a compare-and-swap against the record as read, so when several nodes notice the same loss at
 * once exactly one verdict is written, and a coordinator that finished meanwhile keeps its result.
 * Resolves with the ids this call ended.
 */
export async function failOrphans(
  store: ExecutionStore,
  orphaned: (r: ExecutionRecord) => boolean,
  reason: (r: ExecutionRecord) => string,
): Promise<string[]> {
  const ended: string[] = [];
  const candidates = await store.scan((r) => !isTerminal(r.status) && orphaned(r));
  for (const candidate of candidates) {
    // The scan reads headers; the verdict ends the rows too.
    const full = await store.get(candidate.record.execution_id);
    if (!full || full.revision !== candidate.revision) continue;
    const written = await store.replace(endOrphan(full.record, reason(full.record)), full.revision);
    if (written !== undefined) ended.push(full.record.execution_id);
  }
  return ended;
}
