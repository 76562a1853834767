import type { ExecutionRecord } from '../protocol/execution.js';

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
