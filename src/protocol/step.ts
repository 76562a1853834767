import { z } from 'zod';
import { StepFailureWireSchema } from './errors.js';

/** Placement constraints of a step or an agent (DESIGN.md section 6). */
export const GpuRequirementSchema = z.union([
  z.boolean(),
  z
    .object({
      count: z.number().int().positive().optional(),
      min_vram_mib: z.number().int().nonnegative().optional(),
      vendor: z.string().min(1).optional(),
      model: z.string().min(1).optional(),
    })
    .strict(),
]);

export const RequiresSchema = z
  .object({
    gpu: GpuRequirementSchema.optional(),
    region: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    min_memory_mib: z.number().int().nonnegative().optional(),
    min_cpus: z.number().int().positive().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    node: z.string().min(1).optional(),
    prefer: z
      .object({
        region: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
        labels: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type Requires = z.infer<typeof RequiresSchema>;

export const AgentSpecSchema = z.object({
  id: z.string(),
  model: z.string(),
  system_prompt: z.string().optional(),
  temperature: z.number().optional(),
  max_tokens: z.number().int().positive().optional(),
  base_url: z.string().optional(),
  response_format: z.enum(['text', 'json']).optional(),
});
export type AgentSpec = z.infer<typeof AgentSpecSchema>;

/**
 * What one step asks a node to do, with every variable already resolved. This is the unit that
 * crosses the wire in distributed mode and the argument of a local executor in sync mode.
 */
export const StepTaskSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('tool'),
    tool_id: z.string(),
    tool_type: z.string(),
    method: z.string().optional(),
    args: z.unknown(),
    settings: z.record(z.string(), z.unknown()).optional(),
    /** Stable across re-dispatch and takeover: execution, step row, attempt. */
    idempotency_key: z.string().optional(),
  }),
  z.object({
    kind: z.literal('agent'),
    agent: AgentSpecSchema,
    input: z.unknown(),
    idempotency_key: z.string().optional(),
  }),
]);
export type StepTask = z.infer<typeof StepTaskSchema>;

/** Isolation of a step on the node that runs it. */
export const IsolationSchema = z.enum(['in_process', 'child_process']);
export type Isolation = z.infer<typeof IsolationSchema>;

export const StepRequestSchema = z.object({
  type: z.literal('wfmesh.step.request.v1'),
  /** One dispatch: a late reply for an older key is ignored by the sender. */
  key: z.string().min(1),
  /**
   * execution:step:attempt, the same for every dispatch of one attempt (re-dispatch, takeover). A
   * node that completed it answers from the stored result instead of running it again.
   */
  idempotency_key: z.string().min(1).optional(),
  /** The coordinator's lease epoch: a node refuses requests of an older epoch for the execution. */
  epoch: z.number().int().nonnegative().optional(),
  /** Set when the attempt may already have run (re-dispatch after a loss, takeover): check stored results. */
  redelivery: z.boolean().optional(),
  execution_id: z.string().min(1),
  step_id: z.string().min(1),
  attempt: z.number().int().positive(),
  origin: z.string(),
  deadline: z.number().int().positive(), // epoch ms
  isolation: IsolationSchema,
  task: StepTaskSchema,
});
export type StepRequest = z.infer<typeof StepRequestSchema>;

export const StepReplySchema = z.discriminatedUnion('ok', [
  z.object({
    type: z.literal('wfmesh.step.reply.v1'),
    key: z.string(),
    ok: z.literal(true),
    node: z.string(),
    output: z.unknown(),
    started_at: z.string(),
    ended_at: z.string(),
  }),
  z.object({
    type: z.literal('wfmesh.step.reply.v1'),
    key: z.string(),
    ok: z.literal(false),
    node: z.string(),
    failure: StepFailureWireSchema,
    started_at: z.string().optional(),
    ended_at: z.string().optional(),
  }),
]);
export type StepReply = z.infer<typeof StepReplySchema>;

export const CancelMessageSchema = z.object({
  type: z.literal('wfmesh.cancel.v1'),
  execution_id: z.string().min(1),
  /** When present, only the step dispatched under this key is cancelled. */
  key: z.string().optional(),
  reason: z.string().optional(),
});
export type CancelMessage = z.infer<typeof CancelMessageSchema>;
