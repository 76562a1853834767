import type { Logger } from 'pino';

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
  log.info({ audit: true, ...event }, `audit: ${event.event} ${where} ${event.outcome}`);
}
