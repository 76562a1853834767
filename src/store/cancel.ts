import type { NatsConnection } from 'nats';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { MeshError } from '../protocol/errors.js';
import { CancelReplySchema, FINAL_STEP_STATUSES, type CancelReply, type ExecutionRecord, type ExecutionStatus } from '../protocol/execution.js';
import type { CancelMessage } from '../protocol/step.js';
import { subjects } from '../protocol/subjects.js';
import { isTerminal, type ExecutionStore } from './execution-store.js';


/** The record ended as cancelled: unfinished steps cancelled with it. */
export function cancelledRecord(r: ExecutionRecord, reason: string): ExecutionRecord {
  const at = new Date().toISOString();
  return {
    ...r,
    status: 'cancelled',
    error: { type: 'cancelled', message: reason },
    steps: r.steps.map((s) => (FINAL_STEP_STATUSES.has(s.status) ? s : { ...s, status: 'cancelled' as const, ...(s.status === 'running' && { ended_at: at }) })),
    updated_at: at,
    ended_at: at,
  };
}

/**
 * Cancels an execution from anywhere (another node, the CLI): asks its coordinator when
 * `coordinatorLive` says it is there; otherwise, or when it does not answer, broadcasts the cancel
 * (orphaned steps stop too) and writes the verdict to the record. MeshError EXECUTION_NOT_FOUND
 * when there is no such record.
 */
export async function cancelInMesh(
  nc: NatsConnection,
  store: ExecutionStore,
  executionId: string,
  reason: string,
  coordinatorLive: (name: string) => boolean,
): Promise<{ execution_id: string; status: ExecutionStatus }> {
  const stored = await store.get(executionId);
  if (!stored) throw new MeshError('EXECUTION_NOT_FOUND', `no execution ${executionId} in the mesh (it may have expired)`);
  if (isTerminal(stored.record.status)) return { execution_id: executionId, status: stored.record.status };
  const reply = coordinatorLive(stored.record.coordinator) ? await requestCancel(nc, executionId, reason) : undefined;
  if (reply) return { execution_id: executionId, status: reply.status };
  const message: CancelMessage = { type: 'wfmesh.cancel.v1', execution_id: executionId, reason };
  if (!nc.isClosed()) nc.publish(subjects.cancel(executionId), encodeJson(message));
  const ended = await store.update(executionId, (r) => (isTerminal(r.status) ? undefined : cancelledRecord(r, reason)));
  return { execution_id: executionId, status: ended?.record.status ?? 'cancelled' };
}

/** Asks the coordinator (whoever holds the execution) to cancel it; undefined when none answers. */
async function requestCancel(nc: NatsConnection, executionId: string, reason: string): Promise<CancelReply | undefined> {
  const message: CancelMessage = { type: 'wfmesh.cancel.v1', execution_id: executionId, reason };
  try {
    const msg = await nc.request(subjects.cancel(executionId), encodeJson(message), { timeout: 6_000 });
    const reply = CancelReplySchema.safeParse(decodeJson(msg.data));
    return reply.success ? reply.data : undefined;
  } catch {
    return undefined; // no responders (nobody listens) or timeout (no coordinator has it)
  }
}
