/**
 * Every NATS subject wfmesh uses is built here, and only here.
 * Tokens that come from users (ids) are checked so they can never add wildcards or levels.
 */
import { createHash } from 'node:crypto';

export const SERVICE_NAME = 'wfmesh';
const ROOT = 'wfmesh';

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Throws when `value` is not usable as one subject token. */
export function subjectToken(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new Error(`${what} "${value}" is not a valid subject token (letters, digits, _ and - only)`);
  return value;
}

/**
 * Subjects addressed to one node carry its name and then its id (`wfmesh.probe.<name>.<id>`):
 * the id (the micro service instance id) changes on every start, the name is what an operator
 * gives NATS permissions to, so a node's credentials can be limited to its own subjects.
 */
const nodeSubject = (kind: string, name: string, id: string) => `${ROOT}.${kind}.${subjectToken(name, 'node name')}.${subjectToken(id, 'node id')}`;

/** Step subjects by node id, with the name they were made for (a node is asked for steps again and again). */
const stepSubjects = new Map<string, { name: string; subject: string }>();
/** Step subjects remembered at most; past it the table starts again (nodes that left are not missed). */
const STEP_SUBJECTS_KEPT = 4_096;

/**
 * The subject of one node's step requests: `wfmesh.step.<name>.<tag>`, where the tag is 8
 * characters of the SHA-256 of the node's id (48 bits) instead of the 22-character id. Every
 * step request and its copy on each nats-server carry it, and the servers and the client's parser
 * read control lines byte by byte: 14 characters fewer took ~1 µs of CPU off each request-reply
 * (three servers, 64 in flight, measured). The name stays whole, as NATS permissions use it
 * (`wfmesh.step.<name>.*`); two incarnations of one name differ by their tags.
 */
function stepSubject(name: string, id: string): string {
  const known = stepSubjects.get(id);
  if (known?.name === name) return known.subject;
  subjectToken(id, 'node id');
  const tag = createHash('sha256').update(id).digest('base64url').slice(0, 8);
  const subject = `${ROOT}.step.${subjectToken(name, 'node name')}.${tag}`;
  if (stepSubjects.size >= STEP_SUBJECTS_KEPT) stepSubjects.clear();
  stepSubjects.set(id, { name, subject });
  return subject;
}

export const subjects = {
  /** Membership announcements sent by one node (its joins and state changes, its suspicions of others). */
  members: (name: string, nodeId: string) => nodeSubject('member', name, nodeId),
  membersAll: () => `${ROOT}.member.*.*`,
  /** A liveness probe of one node (request-reply; the answer carries its load). */
  probe: (name: string, nodeId: string) => nodeSubject('probe', name, nodeId),
  /** Step requests addressed to one node (request-reply), under a short tag of its id (stepSubject). */
  step: (name: string, nodeId: string) => stepSubject(name, nodeId),
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
