import { ErrorCode, type NatsConnection, type NatsError } from 'nats';
import { newExecutionId } from '../engine/ids.js';
import { listServiceInstances } from '../mesh/view-client.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { MeshError } from '../protocol/errors.js';
import { ExecuteReplySchema, type ExecuteRequest } from '../protocol/execute.js';
import { ExecutionEventSchema, type ExecutionMode, type ExecutionRecord } from '../protocol/execution.js';
import { subjects } from '../protocol/subjects.js';
import { ExecutionStore, isTerminal } from '../store/index.js';
import type { CliIo } from './command.js';
import { withNats } from './client.js';

export interface MeshRun {
  yaml: string;
  workflow?: string;
  input: string;
  mode: Exclude<ExecutionMode, 'sync'>;
  nats?: string;
  signal: AbortSignal;
  /** How long one node may take to accept before it is asked again (default 30 s). */
  acceptTimeoutMs?: number;
}

/** How long one node may take to accept (validation of a large document included). */
const ACCEPT_TIMEOUT_MS = 30_000;

/**
 * Asks one node after another to coordinate the execution, always with the same client-chosen
 * `execution_id`, so a node that accepted (even one whose reply was lost or late) is never joined
 * by a second execution: after a timeout the shared store says whether the execution exists, the
 * same node is asked once more (a repeat returns the existing execution), and only a node that
 * never got the request (no responders) or that still shows nothing is passed over.
 */
async function startOnSomeNode(nc: NatsConnection, request: ExecuteRequest & { execution_id: string }, acceptTimeoutMs: number): Promise<{ id: string; node: string }> {
  const nodes = await listServiceInstances(nc);
  if (nodes.length === 0) throw new MeshError('NATS_CONNECT', 'no wfmesh node answers on this NATS cluster: start the mesh (`npm start` / `wfmesh up`), or use --mode sync');
  const store = new ExecutionStore(nc);
  const accepted = async (): Promise<{ id: string; node: string } | undefined> => {
    const found = await store.get(request.execution_id).catch(() => undefined);
    return found ? { id: request.execution_id, node: found.record.coordinator } : undefined;
  };
  let last = '';
  for (const target of nodes) {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const msg = await nc.request(subjects.execute(target.name, target.id), encodeJson(request), { timeout: acceptTimeoutMs });
        const reply = ExecuteReplySchema.safeParse(decodeJson(msg.data));
        if (!reply.success) {
          last = 'a node sent a malformed reply';
          break;
        }
        if (!reply.data.ok) throw new MeshError(reply.data.code === 'WORKFLOW_INVALID' ? 'WORKFLOW_INVALID' : 'INTERNAL', `node ${reply.data.node}: ${reply.data.message}`);
        return { id: reply.data.execution_id, node: reply.data.node };
      } catch (err) {
        if (err instanceof MeshError) throw err;
        last = (err as Error).message;
        // The node may have it and still be working: that execution is the one to follow.
        const existing = await accepted();
        if (existing) return existing;
        if ((err as NatsError).code !== ErrorCode.Timeout) break; // it never got the request: ask the next
      }
    }
  }
  throw new MeshError('NATS_CONNECT', `no node accepted the execution (${last})`);
}

/**
 * `wfmesh run` against a running mesh: a node coordinates; this follows the execution through
 * its events (progress on stderr) and the shared store, and cancels it on Ctrl-C.
 */
export async function runOnMesh(req: MeshRun, io: CliIo): Promise<ExecutionRecord> {
  return withNats(req.nats, 'run', async (nc) => {
    const { id, node } = await startOnSomeNode(nc, {
      type: 'wfmesh.execute.request.v1',
      execution_id: newExecutionId(),
      yaml: req.yaml,
      ...(req.workflow && { workflow: req.workflow }),
      input: req.input,
      mode: req.mode,
      requested_by: 'cli',
    }, req.acceptTimeoutMs ?? ACCEPT_TIMEOUT_MS);
    io.err(`execution ${id} started on ${node} (${req.mode})`);
    const store = new ExecutionStore(nc);
    if (req.mode === 'async') return (await store.get(id))?.record ?? placeholder(id, node, req.mode);

    let wake: (() => void) | undefined;
    const sub = nc.subscribe(subjects.events(id), {
      callback: (_err, msg) => {
        const e = ExecutionEventSchema.safeParse(decodeJson(msg.data));
        if (e.success && e.data.step && ['completed', 'failed'].includes(e.data.step.status)) {
          io.err(`  ${e.data.step.status === 'completed' ? 'ok  ' : 'FAIL'} ${e.data.step.id} on ${e.data.step.node ?? '?'} (${e.data.steps_done}/${e.data.steps_total})`);
        }
        wake?.();
      },
    });
    const onAbort = () => {
      nc.publish(subjects.cancel(id), encodeJson({ type: 'wfmesh.cancel.v1', execution_id: id, reason: 'interrupted (Ctrl-C)' }));
    };
    req.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const found = await store.get(id);
        if (found && isTerminal(found.record.status)) return found.record;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 500);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    } finally {
      req.signal.removeEventListener('abort', onAbort);
      sub.unsubscribe();
    }
  });
}

function placeholder(id: string, node: string, mode: ExecutionMode): ExecutionRecord {
  const now = new Date().toISOString();
  return { type: 'wfmesh.execution.v1', execution_id: id, workflow: '', mode, status: 'running', steps: [], coordinator: node, created_at: now, updated_at: now };
}
