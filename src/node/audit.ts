import pino, { type Logger } from 'pino';
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

/**
 * Writes one audit line at info level (so `WFMESH_LOG_LEVEL=warn` or higher turns audit off too),
 * to the logger's own stream: in order with its other lines, with its bindings (`pid`, `node`).
 * The line is built here rather than by pino, whose general serialiser (a stringify call per
 * field, then a copy of the whole line) cost a busy worker more than anything else it did for a
 * step. The shape is pino's: `{"level":30,"time":...,<bindings>,"audit":true,...,"msg":...}`.
 */
export function auditLog(log: Logger, event: AuditEvent): void {
  if (!log.isLevelEnabled('info')) return;
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as { write(line: string): unknown };
  stream.write(auditLine(event, internals[pino.symbols.chindingsSym] as string));
}

const str = JSON.stringify;
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

/**
 * One audit line. `bindings` are the logger's, serialised (`,"pid":7,"node":"eu-1"`): the event's
 * `node` is left out when they already say it, so that the line has no key twice.
 */
export function auditLine(e: AuditEvent, bindings: string, now = Date.now()): string {
  const where = e.step_id === undefined ? e.execution_id : `${e.execution_id}/${e.step_id}`;
  const nodeField = `,"node":${str(e.node)}`;
  return (
    `{"level":30,"time":${now}${bindings},"audit":true,"event":${str(e.event)},"execution_id":${str(e.execution_id)}` +
    (e.step_id === undefined ? '' : `,"step_id":${str(e.step_id)}`) +
    `,"requested_by":${str(e.requested_by)}` +
    (bindings.includes(nodeField) ? '' : nodeField) +
    `,"outcome":${str(e.outcome)}` +
    (e.workflow === undefined ? '' : `,"workflow":${str(e.workflow)}`) +
    (e.mode === undefined ? '' : `,"mode":${str(e.mode)}`) +
    (e.task === undefined ? '' : `,"task":${str(e.task)}`) +
    (e.attempt === undefined ? '' : `,"attempt":${num(e.attempt)}`) +
    (e.duration_ms === undefined ? '' : `,"duration_ms":${num(e.duration_ms)}`) +
    (e.error === undefined ? '' : `,"error":{"type":${str(e.error.type)},"message":${str(e.error.message)}}`) +
    `,"msg":${str(`audit: ${e.event} ${where} ${e.outcome}`)}}\n`
  );
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
