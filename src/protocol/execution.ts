import { z } from 'zod';
import { StepFailureWireSchema } from './errors.js';

export const ExecutionModeSchema = z.enum(['distributed', 'sync', 'async', 'isolated']);
export type ExecutionMode = z.infer<typeof ExecutionModeSchema>;

export const ExecutionStatusSchema = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']);
export type ExecutionStatus = z.infer<typeof ExecutionStatusSchema>;

export const StepStatusSchema = z.enum(['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled']);
export type StepStatus = z.infer<typeof StepStatusSchema>;

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
  /** Name of the node that coordinates the execution. */
  coordinator: z.string(),
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
