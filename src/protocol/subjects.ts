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

/**
 * Subjects addressed to one node carry its name and then its id (`wfmesh.step.<name>.<id>`):
 * the id (the micro service instance id) changes on every start, the name is what an operator
 * gives NATS permissions to, so a node's credentials can be limited to its own subjects.
 */
const nodeSubject = (kind: string, name: string, id: string) => `${ROOT}.${kind}.${subjectToken(name, 'node name')}.${subjectToken(id, 'node id')}`;

export const subjects = {
  /** Membership announcements sent by one node (its joins and state changes, its suspicions of others). */
  members: (name: string, nodeId: string) => nodeSubject('member', name, nodeId),
  membersAll: () => `${ROOT}.member.*.*`,
  /** A liveness probe of one node (request-reply; the answer carries its load). */
  probe: (name: string, nodeId: string) => nodeSubject('probe', name, nodeId),
  /** Step requests addressed to one node (request-reply). */
  step: (name: string, nodeId: string) => nodeSubject('step', name, nodeId),
  /** Starts an execution coordinated by one node (request-reply). */
  execute: (name: string, nodeId: string) => nodeSubject('execute', name, nodeId),
  /** A node's view of the mesh (its peer registry), request-reply. */
  view: (name: string, nodeId: string) => nodeSubject('view', name, nodeId),
  /** The same view from any one node (a queue group: one node answers): how a new node learns the mesh. */
  viewAny: () => `${ROOT}.view.any`,
  /** Cancellation of one execution, heard by every node. */
  cancel: (executionId: string) => `${ROOT}.cancel.${subjectToken(executionId, 'execution id')}`,
  cancelAll: () => `${ROOT}.cancel.*`,
  /** A new coordinator took an execution's lease (takeover): the old one stops at once. */
  lease: (executionId: string) => `${ROOT}.lease.${subjectToken(executionId, 'execution id')}`,
  leaseAll: () => `${ROOT}.lease.*`,
  /** Asks one node to take executions over (a draining coordinator hands them on; request-reply). */
  handover: (name: string, nodeId: string) => nodeSubject('handover', name, nodeId),
  /** Tool calls of agent steps as they start and end, from the node running the agent to its coordinator. */
  toolCalls: (executionId: string) => `${ROOT}.toolcall.${subjectToken(executionId, 'execution id')}`,
  /** Execution events (progress), for whoever watches an execution. */
  events: (executionId: string) => `${ROOT}.events.${subjectToken(executionId, 'execution id')}`,
  /** Every execution's events (the dashboard's live stream). */
  eventsAll: () => `${ROOT}.events.*`,
  /** NATS micro services discovery. */
  serviceInfo: (instanceId?: string) =>
    instanceId ? `$SRV.INFO.${SERVICE_NAME}.${subjectToken(instanceId, 'node id')}` : `$SRV.INFO.${SERVICE_NAME}`,
  servicePing: () => `$SRV.PING.${SERVICE_NAME}`,
  /** nats-server's connection lists of the asker's account, one answer per server (src/mesh/connection-watch.ts). */
  accountConnections: () => '$SYS.REQ.ACCOUNT.PING.CONNZ',
} as const;

/** The node a membership subject (`subjects.members(name, id)`) belongs to; undefined for any other subject. */
export function memberSubjectSender(subject: string): { name: string; id: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || `${parts[0]}.${parts[1]}` !== `${ROOT}.member` || !TOKEN.test(parts[2]!) || !TOKEN.test(parts[3]!)) return undefined;
  return { name: parts[2]!, id: parts[3]! };
}

/**
 * Wildcards for NATS permissions (nats-server `permissions`, see src/nats/permissions.ts): what
 * one node publishes or receives under its own name, and what the whole mesh uses.
 */
type NodeSubjectKind = 'member' | 'probe' | 'step' | 'execute' | 'view' | 'handover';

export const subjectScopes = {
  /** Everything addressed to, or sent as, the node called `name`, of one kind. */
  ofNode: (kind: NodeSubjectKind, name: string) => `${ROOT}.${kind}.${subjectToken(name, 'node name')}.*`,
  /** Every node's subjects of one kind (`wfmesh.step.*.*`). */
  allNodes: (kind: NodeSubjectKind) => `${ROOT}.${kind}.*.*`,
  /** The view any one node answers (`subjects.viewAny()`). */
  viewAny: () => `${ROOT}.view.any`,
  cancel: () => `${ROOT}.cancel.*`,
  lease: () => `${ROOT}.lease.*`,
  events: () => `${ROOT}.events.*`,
  toolCalls: () => `${ROOT}.toolcall.*`,
  /** The micro services API: discovery requests, and (for nodes) the service's own subscriptions. */
  services: () => '$SRV.>',
  serviceDiscovery: () => [`$SRV.PING.${SERVICE_NAME}`, `$SRV.PING.${SERVICE_NAME}.*`, `$SRV.INFO.${SERVICE_NAME}`, `$SRV.INFO.${SERVICE_NAME}.*`, `$SRV.STATS.${SERVICE_NAME}`, `$SRV.STATS.${SERVICE_NAME}.*`],
} as const;
