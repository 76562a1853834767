import { z } from 'zod';
import { ExecutionModeSchema, ExecutionStatusSchema } from './execution.js';

/** Asks a node to start an execution (what `wfmesh run` sends when a mesh is there). */
export const ExecuteRequestSchema = z.object({
  type: z.literal('wfmesh.execute.request.v1'),
  yaml: z.string().optional(),
  workflow_name: z.string().optional(),
  workflow: z.string().optional(),
  input: z.unknown().optional(),
  mode: ExecutionModeSchema,
  timeout_s: z.number().positive().optional(),
  requested_by: z.string().optional(),
  /**
   * Chosen by the caller, so that a retry of the same request (a lost reply, a slow node) finds
   * the execution it started instead of starting another. A subject token: it names KV keys and
   * the execution's events subject.
   */
  execution_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (1-64)').optional(),
});
export type ExecuteRequest = z.infer<typeof ExecuteRequestSchema>;

export const ExecuteReplySchema = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('wfmesh.execute.reply.v1'), ok: z.literal(true), execution_id: z.string(), status: ExecutionStatusSchema, node: z.string() }),
  z.object({ type: z.literal('wfmesh.execute.reply.v1'), ok: z.literal(false), code: z.string(), message: z.string(), node: z.string() }),
]);
export type ExecuteReply = z.infer<typeof ExecuteReplySchema>;
