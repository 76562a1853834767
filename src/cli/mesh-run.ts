import type { NatsConnection } from 'nats';
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
}

/** Asks the first node that answers to coordinate the execution; returns its id and name. */
async function startOnSomeNode(nc: NatsConnection, request: ExecuteRequest): Promise<{ id: string; node: string }> {
  const nodes = await listServiceInstances(nc);
  if (nodes.length === 0) throw new MeshError('NATS_CONNECT', 'no wfmesh node answers on this NATS cluster: start the mesh (`npm start` / `wfmesh up`), or use --mode sync');
  let last = '';
  for (const nodeId of nodes) {
    try {
      const msg = await nc.request(subjects.execute(nodeId), encodeJson(request), { timeout: 30_000 });
      const reply = ExecuteReplySchema.safeParse(decodeJson(msg.data));
      if (!reply.success) {
        last = 'a node sent a malformed reply';
        continue;
      }
      if (!reply.data.ok) throw new MeshError(reply.data.code === 'WORKFLOW_INVALID' ? 'WORKFLOW_INVALID' : 'INTERNAL', `node ${reply.data.node}: ${reply.data.message}`);
      return { id: reply.data.execution_id, node: reply.data.node };
    } catch (err) {
      if (err instanceof MeshError) throw err;
      last = (err as Error).message; // that node went away: ask the next
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
      yaml: req.yaml,
      ...(req.workflow && { workflow: req.workflow }),
      input: req.input,
      mode: req.mode,
      requested_by: 'cli',
    });
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
