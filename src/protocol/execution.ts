import { z } from 'zod';
import { StepFailureWireSchema } from './errors.js';
import { ToolCallRecordSchema } from './step.js';

export const ExecutionModeSchema = z.enum(['distributed', 'sync', 'async', 'isolated']);
export type ExecutionMode = z.infer<typeof ExecutionModeSchema>;

export const ExecutionStatusSchema = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']);
export type ExecutionStatus = z.infer<typeof ExecutionStatusSchema>;

export const StepStatusSchema = z.enum(['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled']);
export type StepStatus = z.infer<typeof StepStatusSchema>;

/** Step statuses a row never leaves. */
export const FINAL_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/** How one dispatch of a step attempt ended, as the coordinator saw it. */
export const AttemptStatusSchema = z.enum(['running', 'completed', 'failed', 'lost', 'cancelled', 'handed_over']);
export type AttemptStatus = z.infer<typeof AttemptStatusSchema>;

/**
 * One dispatch of one attempt: where it ran, under which coordinator epoch, and how it ended.
 * A step re-dispatched after its node was lost has two entries with the same attempt number.
 */
export const AttemptRecordSchema = z.object({
  attempt: z.number().int().positive(),
  node: z.string(),
  epoch: z.number().int().nonnegative(),
  status: AttemptStatusSchema,
  started_at: z.string(),
  ended_at: z.string().optional(),
  error: z.string().optional(),
});
export type AttemptRecord = z.infer<typeof AttemptRecordSchema>;

/** A change of coordinator: who took the execution over, from whom, and why. */
export const HandoverSchema = z.object({
  node: z.string(),
  from: z.string(),
  epoch: z.number().int().nonnegative(),
  at: z.string(),
  reason: z.string(),
});
export type Handover = z.infer<typeof HandoverSchema>;

/** One step of an execution record. Loop bodies and fan-out branches appear as their own rows. */
export const StepRecordSchema = z.object({
  id: z.string(),
  status: StepStatusSchema,
  node: z.string().optional(),
  attempts: z.number().int().nonnegative(),
  started_at: z.string().optional(),
  ended_at: z.string().optional(),
  output: z.unknown().optional(),
  error: StepFailureWireSchema.optional(),
  /** Every dispatch of the step's attempts (agent and tool steps). */
  history: z.array(AttemptRecordSchema).optional(),
  /** What the run noticed but did not fail for (a condition that read a field the output lacks). */
  warnings: z.array(z.string()).optional(),
  /** The tool calls of an agent step (its latest attempt), in order. */
  tool_calls: z.array(ToolCallRecordSchema).optional(),
});
export type StepRecord = z.infer<typeof StepRecordSchema>;

/** The record of one execution, as every node reports it (MCP get_execution, `wfmesh executions`). */
export const ExecutionRecordSchema = z.object({
  type: z.literal('wfmesh.execution.v1'),
  execution_id: z.string(),
  workflow: z.string(),
  mode: ExecutionModeSchema,
  status: ExecutionStatusSchema,
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  error: z
    .object({ step: z.string().optional(), type: z.string(), message: z.string() })
    .optional(),
  steps: z.array(StepRecordSchema),
  /** Name of the node that coordinates the execution (holds its lease). */
  coordinator: z.string(),
  /** Fencing number of the lease: bumped by every takeover; writes from an older epoch are refused. */
  epoch: z.number().int().nonnegative().optional(),
  /** Every change of coordinator, oldest first. */
  handovers: z.array(HandoverSchema).optional(),
  /** Absolute deadline of the whole execution (from timeout_s), epoch ms. */
  deadline_at: z.number().int().positive().optional(),
  /** Step rows, and how many reached a final state (a stored header lists no rows of its own). */
  steps_total: z.number().int().nonnegative().optional(),
  steps_done: z.number().int().nonnegative().optional(),
  /** Who asked: "cli", "mcp:<session>", ... */
  requested_by: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  ended_at: z.string().optional(),
});
export type ExecutionRecord = z.infer<typeof ExecutionRecordSchema>;

/** Published on `subjects.events(id)` by the coordinator on every step change (progress watchers). */
export const ExecutionEventSchema = z.object({
  type: z.literal('wfmesh.execution.event.v1'),
  execution_id: z.string(),
  status: ExecutionStatusSchema,
  /** Steps that reached a final state, and all step rows known so far. */
  steps_done: z.number().int().nonnegative(),
  steps_total: z.number().int().nonnegative(),
  /** The step whose change caused the event. */
  step: z.object({ id: z.string(), status: StepStatusSchema, node: z.string().optional() }).optional(),
  coordinator: z.string(),
  at: z.string(),
});
export type ExecutionEvent = z.infer<typeof ExecutionEventSchema>;

/** The coordinator's answer to an execution-wide cancel request (`subjects.cancel(id)`, no `key`). */
export const CancelReplySchema = z.object({
  type: z.literal('wfmesh.cancel.reply.v1'),
  execution_id: z.string(),
  status: ExecutionStatusSchema,
  node: z.string(),
});
export type CancelReply = z.infer<typeof CancelReplySchema>;
