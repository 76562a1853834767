import type { Logger } from 'pino';
import type { ExecutionRecord } from '../protocol/execution.js';
import type { StepReply, StepRequest } from '../protocol/step.js';

/**
 * One audit record: who asked for what, which node ran it, and how it ended. Written as a pino
 * line with `audit: true` so operators can route or grep audit lines apart from the rest
 * (`jq 'select(.audit)'`). Inputs and outputs are never logged here, only their identity.
 */
export interface AuditEvent {
  event: 'execution' | 'step';
  execution_id: string;
  /** For `step` events. */
  step_id?: string;
  /** Who asked: e.g. `mcp:http` (with the client's address), `mcp:stdio`, `cli`, or a peer node's name. */
  requested_by: string;
  /** The node that coordinated the execution or ran the step. */
  node: string;
  /** `started`, then one of `completed`, `failed`, `cancelled`, `rejected`. */
  outcome: 'started' | 'completed' | 'failed' | 'cancelled' | 'rejected';
  workflow?: string;
  mode?: string;
  /** For steps: `tool:<type>[.<method>]` or `agent:<model>`. */
  task?: string;
  attempt?: number;
  duration_ms?: number;
  /** Failure type and message when the outcome is not `completed`. */
  error?: { type: string; message: string };
}

/** Writes one audit line at info level (so `WFMESH_LOG_LEVEL=warn` or higher turns audit off too). */
export function auditLog(log: Logger, event: AuditEvent): void {
  const where = event.step_id ? `${event.execution_id}/${event.step_id}` : event.execution_id;
  auditLogger(log).info(event, `audit: ${event.event} ${where} ${event.outcome}`);
}

const auditLoggers = new WeakMap<Logger, Logger>();

/** `log` with `audit: true` bound (pino serialises bindings once, not on every line). */
function auditLogger(log: Logger): Logger {
  let child = auditLoggers.get(log);
  if (!child) {
    child = log.child({ audit: true });
    auditLoggers.set(log, child);
  }
  return child;
}

/** The audit line of a step this node ran for the mesh (the step server's onStepEnd). */
export function auditStepReply(log: Logger, node: string, req: StepRequest, reply: StepReply, seconds: number): void {
  const task = req.task.kind === 'agent' ? `agent:${req.task.agent.model}` : `tool:${req.task.tool_type}${req.task.method ? `.${req.task.method}` : ''}`;
  const event: AuditEvent = {
    event: 'step',
    execution_id: req.execution_id,
    step_id: req.step_id,
    requested_by: req.origin,
    node,
    outcome: reply.ok ? 'completed' : reply.failure.type === 'cancelled' ? 'cancelled' : 'failed',
    task,
    attempt: req.attempt,
    duration_ms: Math.round(seconds * 1000),
  };
  if (!reply.ok) event.error = { type: reply.failure.type, message: reply.failure.message };
  auditLog(log, event);
}

/** The audit line of an execution this node coordinates: when it starts and when it ends. */
export function auditExecution(log: Logger, node: string, record: ExecutionRecord): void {
  const done = record.status === 'completed' || record.status === 'failed' || record.status === 'cancelled';
  const started = Date.parse(record.created_at);
  const ended = record.ended_at ? Date.parse(record.ended_at) : NaN;
  auditLog(log, {
    event: 'execution',
    execution_id: record.execution_id,
    requested_by: record.requested_by ?? 'unknown',
    node,
    outcome: done ? (record.status as 'completed' | 'failed' | 'cancelled') : 'started',
    workflow: record.workflow,
    mode: record.mode,
    ...(done && Number.isFinite(ended - started) && { duration_ms: ended - started }),
    ...(record.error && { error: { type: record.error.type, message: record.error.message } }),
  });
}
