/**
 * The lease on an execution, as plain functions (no I/O): who should take an orphaned execution
 * over, and the record that says it did. The store's compare-and-swap on the header makes the
 * claim exclusive; these only decide what to write.
 */
import { z } from 'zod';
import type { Advertisement } from '../protocol/advert.js';
import type { ExecutionRecord } from '../protocol/execution.js';

/** Published on `subjects.lease(id)` by a node that took an execution: an older holder stops at once. */
export const LeaseNoticeSchema = z.object({
  type: z.literal('wfmesh.lease.v1'),
  execution_id: z.string(),
  coordinator: z.string(),
  epoch: z.number().int().nonnegative(),
});
export type LeaseNotice = z.infer<typeof LeaseNoticeSchema>;

/** Asks a node (`subjects.handover(id)`) to take executions over; it answers with those it took. */
export const HandoverRequestSchema = z.object({
  type: z.literal('wfmesh.handover.request.v1'),
  execution_ids: z.array(z.string()).max(10_000),
  from: z.string(),
  reason: z.string(),
});
export type HandoverRequest = z.infer<typeof HandoverRequestSchema>;

export const HandoverReplySchema = z.object({
  type: z.literal('wfmesh.handover.reply.v1'),
  taken: z.array(z.string()),
  node: z.string(),
});
export type HandoverReply = z.infer<typeof HandoverReplySchema>;

/** FNV-1a, 32 bits: a stable, well-spread score for rendezvous hashing. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The live node that should take `executionId` over: highest rendezvous score among the running
 * candidates, so that the executions of a lost node spread over the survivors and every node
 * agrees on the choice without talking. Undefined when there is no candidate.
 */
export function successorOf(executionId: string, candidates: readonly Advertisement[]): Advertisement | undefined {
  let best: Advertisement | undefined;
  let bestScore = -1;
  for (const p of candidates) {
    if (p.state !== 'RUNNING') continue;
    const score = fnv1a(`${executionId}\u0000${p.id}`);
    if (score > bestScore || (score === bestScore && best !== undefined && p.id < best.id)) {
      best = p;
      bestScore = score;
    }
  }
  return best;
}

/** The record after `node` took the lease from its holder: the next epoch, the handover noted. */
export function claimed(record: ExecutionRecord, node: string, reason: string, at = new Date().toISOString()): ExecutionRecord {
  const epoch = (record.epoch ?? 0) + 1;
  return {
    ...record,
    coordinator: node,
    epoch,
    status: 'running',
    handovers: [...(record.handovers ?? []), { node, from: record.coordinator, epoch, at, reason }],
    updated_at: at,
  };
}
