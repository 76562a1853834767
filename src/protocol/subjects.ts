/**
 * Every NATS subject wfmesh uses is built here, and only here.
 * Tokens that come from users (ids) are checked so they can never add wildcards or levels.
 */
export const SERVICE_NAME = 'wfmesh';
const ROOT = 'wfmesh';

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Throws when `value` is not usable as one subject token. */
export function subjectToken(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new Error(`${what} "${value}" is not a valid subject token (letters, digits, _ and - only)`);
  return value;
}

export const subjects = {
  /** Live load, published by each node on every heartbeat. */
  heartbeat: (nodeId: string) => `${ROOT}.hb.${subjectToken(nodeId, 'node id')}`,
  heartbeatAll: () => `${ROOT}.hb.*`,
  /** Step requests addressed to one node (request-reply). */
  step: (nodeId: string) => `${ROOT}.step.${subjectToken(nodeId, 'node id')}`,
  /** Starts an execution coordinated by one node (a micro service endpoint). */
  execute: (nodeId: string) => `${ROOT}.execute.${subjectToken(nodeId, 'node id')}`,
  /** A node's view of the mesh (its peer registry), a micro service endpoint. */
  view: (nodeId: string) => `${ROOT}.view.${subjectToken(nodeId, 'node id')}`,
  /** Cancellation of one execution, heard by every node. */
  cancel: (executionId: string) => `${ROOT}.cancel.${subjectToken(executionId, 'execution id')}`,
  cancelAll: () => `${ROOT}.cancel.*`,
  /** A new coordinator took an execution's lease (takeover): the old one stops at once. */
  lease: (executionId: string) => `${ROOT}.lease.${subjectToken(executionId, 'execution id')}`,
  leaseAll: () => `${ROOT}.lease.*`,
  /** Asks one node to take executions over (a draining coordinator hands them on; request-reply). */
  handover: (nodeId: string) => `${ROOT}.handover.${subjectToken(nodeId, 'node id')}`,
  /** Execution events (progress), for whoever watches an execution. */
  events: (executionId: string) => `${ROOT}.events.${subjectToken(executionId, 'execution id')}`,
  /** Every execution's events (the dashboard's live stream). */
  eventsAll: () => `${ROOT}.events.*`,
  /** NATS micro services discovery. */
  serviceInfo: (instanceId?: string) =>
    instanceId ? `$SRV.INFO.${SERVICE_NAME}.${subjectToken(instanceId, 'node id')}` : `$SRV.INFO.${SERVICE_NAME}`,
  servicePing: () => `$SRV.PING.${SERVICE_NAME}`,
} as const;
