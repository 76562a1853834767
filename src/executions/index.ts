/**
 * Executions: each one coordinated by one node under a lease in JetStream KV, resumed by another
 * node when its coordinator dies or stops. MCP, the CLI and the node's wiring depend on this
 * folder; it depends on the engine, the store and narrow views of the mesh, never on `node/`.
 */
export { ExecutionService, type StartExecutionRequest } from './service.js';
export type { ExecutionDeps, ExecutionObserver, ExecutionSettings, PeerView } from './deps.js';
export { ProgressTracker, type ExecutionProgress } from './progress.js';
export { successorOf, claimed, LeaseNoticeSchema, HandoverRequestSchema, HandoverReplySchema } from './lease.js';
