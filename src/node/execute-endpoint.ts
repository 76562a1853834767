import { decodeJson, encodeJson } from '../protocol/codec.js';
import { MeshError } from '../protocol/errors.js';
import { ExecuteRequestSchema, type ExecuteReply } from '../protocol/execute.js';
import { subjects } from '../protocol/subjects.js';
import type { ExecutionService } from '../executions/index.js';
import type { MeshNode } from './mesh-node.js';

/**
 * The node's `execute` endpoint: starts an execution coordinated here and answers with its id at
 * once. The caller (`wfmesh run`) follows it through events and the shared store.
 */
export function attachExecuteEndpoint(node: MeshNode, executions: ExecutionService): void {
  // A subject that names this node: a plain subscription, not a micro endpoint (see Membership.serveOwn).
  node.membership.serveOwn(subjects.execute(node.name, node.id), (msg) => {
    const answer = (reply: ExecuteReply) => {
      try {
        msg.respond(encodeJson(reply));
      } catch (e) {
        node.log.warn({ err: (e as Error).message }, 'could not answer an execute request');
      }
    };
    const parsed = ExecuteRequestSchema.safeParse(decodeJson(msg.data));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      answer({ type: 'wfmesh.execute.reply.v1', ok: false, code: 'USAGE', message: `malformed execute request at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, node: node.name });
      return;
    }
    const { type: _type, ...req } = parsed.data;
    executions.start({ ...req, wait: false, requested_by: req.requested_by ?? 'cli' }).then(
      (record) => answer({ type: 'wfmesh.execute.reply.v1', ok: true, execution_id: record.execution_id, status: record.status, node: node.name }),
      (e: unknown) =>
        answer({
          type: 'wfmesh.execute.reply.v1',
          ok: false,
          code: e instanceof MeshError ? e.code : 'INTERNAL',
          message: (e as Error).message ?? String(e),
          node: node.name,
        }),
    );
  });
}
