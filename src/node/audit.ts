import pino, { type Logger } from 'pino';
import { takesLateLines, type LateLine } from '../log/index.js';
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
 * With the batched write mode the line is made when its batch is written (log/index.ts, LateLine),
 * stamped with the time of the event.
 */
export function auditLog(log: Logger, event: AuditEvent): void {
  if (!log.isLevelEnabled('info')) return;
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym];
  const bindings = internals[pino.symbols.chindingsSym] as string;
  if (takesLateLines(stream)) stream.writeLate(new AuditEntry(event, bindings, Date.now()));
  else (stream as { write(line: string): unknown }).write(auditLine(event, bindings));
}

/** An audit line to be made later: the event, the logger's bindings then, and when it was. */
class AuditEntry implements LateLine {
  constructor(
    private readonly event: AuditEvent,
    private readonly bindings: string,
    private readonly time: number,
  ) {}

  render(): string {
    return auditLine(this.event, this.bindings, this.time);
  }
}

const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

/** Characters a JSON string must escape, and surrogates (JSON.stringify escapes the lone ones; pairs it leaves). */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** `s` as a JSON string: most values need no escape, and a regex test is cheaper than JSON.stringify. */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** Remembers the last value quoted: a worker's lines repeat their origin, task and execution. */
class LastQuoted {
  private value = '';
  private quoted = '""';
  of(s: string): string {
    if (s !== this.value) {
      this.value = s;
      this.quoted = quote(s);
    }
    return this.quoted;
  }
}

const quoted = { execution: new LastQuoted(), requestedBy: new LastQuoted(), task: new LastQuoted() };
/** Whether the logger's bindings already name the node, for the last (bindings, node) seen. */
const nodePart = { bindings: '', node: '', part: '' };

/**
 * One audit line. `bindings` are the logger's, serialised (`,"pid":7,"node":"eu-1"`): the event's
 * `node` is left out when they already say it, so that the line has no key twice. Built by hand
 * (a worker writes one per step): JSON.stringify per field cost more than the rest of the line.
 */
export function auditLine(e: AuditEvent, bindings: string, now = Date.now()): string {
  if (bindings !== nodePart.bindings || e.node !== nodePart.node) {
    const field = `,"node":${quote(e.node)}`;
    Object.assign(nodePart, { bindings, node: e.node, part: bindings.includes(field) ? '' : field });
  }
  const execution = quoted.execution.of(e.execution_id);
  const step = e.step_id === undefined ? undefined : quote(e.step_id);
  const where = step === undefined ? e.execution_id : `${e.execution_id}/${e.step_id}`;
  return (
    `{"level":30,"time":${now}${bindings},"audit":true,"event":"${e.event}","execution_id":${execution}` +
    (step === undefined ? '' : `,"step_id":${step}`) +
    `,"requested_by":${quoted.requestedBy.of(e.requested_by)}${nodePart.part},"outcome":"${e.outcome}"` +
    (e.workflow === undefined ? '' : `,"workflow":${quote(e.workflow)}`) +
    (e.mode === undefined ? '' : `,"mode":${quote(e.mode)}`) +
    (e.task === undefined ? '' : `,"task":${quoted.task.of(e.task)}`) +
    (e.attempt === undefined ? '' : `,"attempt":${num(e.attempt)}`) +
    (e.duration_ms === undefined ? '' : `,"duration_ms":${num(e.duration_ms)}`) +
    (e.error === undefined ? '' : `,"error":{"type":${quote(e.error.type)},"message":${quote(e.error.message)}}`) +
    `,"msg":${quote(`audit: ${e.event} ${where} ${e.outcome}`)}}\n`
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
