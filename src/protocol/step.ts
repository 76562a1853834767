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

/** Rounds of tool calls an agent may make before its step fails (`max_tool_rounds`). */
export const DEFAULT_MAX_TOOL_ROUNDS = 8;

/**
 * A tool an agent may call, resolved from the document when the step is built: its type and
 * settings (as a tool step would get them), the methods the model may use (all when absent), and
 * where each call may run (the tool's `requires` and the agent's region).
 */
export const AgentToolSpecSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  methods: z.array(z.string().min(1)).optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  requires: RequiresSchema.optional(),
  description: z.string().optional(),
});
export type AgentToolSpec = z.infer<typeof AgentToolSpecSchema>;

export const AgentSpecSchema = z.object({
  id: z.string(),
  model: z.string(),
  system_prompt: z.string().optional(),
  temperature: z.number().optional(),
  max_tokens: z.number().int().positive().optional(),
  base_url: z.string().optional(),
  response_format: z.enum(['text', 'json']).optional(),
  /** Tools the model may call by function calling; each call is placed on the mesh like a step. */
  tools: z.array(AgentToolSpecSchema).optional(),
  max_tool_rounds: z.number().int().positive().max(100).optional(),
});
export type AgentSpec = z.infer<typeof AgentSpecSchema>;

/**
 * One tool call an agent made, as the execution record keeps it: arguments and result are
 * summaries (a few hundred characters), never the whole values.
 */
export const ToolCallRecordSchema = z.object({
  /** 1-based round of the agent's loop, and the call's index within it. */
  round: z.number().int().positive(),
  index: z.number().int().nonnegative(),
  /** The function name the model used (`files__read_file`). */
  name: z.string(),
  tool: z.string(),
  method: z.string().optional(),
  /** Where it ran; absent when it never left the agent (bad arguments, no eligible node). */
  node: z.string().optional(),
  status: z.enum(['running', 'ok', 'error']),
  started_at: z.string(),
  duration_ms: z.number().nonnegative().optional(),
  args: z.string(),
  result: z.string().optional(),
  error: z.string().optional(),
});
export type ToolCallRecord = z.infer<typeof ToolCallRecordSchema>;

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
    /** Sent by older nodes (no one reads them: the coordinator keeps its own times, the audit line the duration). */
    started_at: z.string().optional(),
    ended_at: z.string().optional(),
    /** The tool calls of an agent step, in order. */
    tool_calls: z.array(ToolCallRecordSchema).optional(),
  }),
  z.object({
    type: z.literal('wfmesh.step.reply.v1'),
    key: z.string(),
    ok: z.literal(false),
    node: z.string(),
    failure: StepFailureWireSchema,
    started_at: z.string().optional(),
    ended_at: z.string().optional(),
    tool_calls: z.array(ToolCallRecordSchema).optional(),
  }),
]);
export type StepReply = z.infer<typeof StepReplySchema>;

/** A tool call of an agent step as it starts or ends (live; the step's reply has the final list). */
export const ToolCallNoteSchema = z.object({
  type: z.literal('wfmesh.toolcall.v1'),
  execution_id: z.string().min(1),
  /** The dispatch key of the agent step (the coordinator listens for its own dispatches only). */
  key: z.string().min(1),
  node: z.string(),
  call: ToolCallRecordSchema,
});
export type ToolCallNote = z.infer<typeof ToolCallNoteSchema>;

export const CancelMessageSchema = z.object({
  type: z.literal('wfmesh.cancel.v1'),
  execution_id: z.string().min(1),
  /** When present, only the step dispatched under this key is cancelled. */
  key: z.string().optional(),
  reason: z.string().optional(),
});
export type CancelMessage = z.infer<typeof CancelMessageSchema>;
