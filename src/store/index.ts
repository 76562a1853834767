/**
 * Shared state in JetStream KV: execution records (`wfmesh_executions`) and saved workflows
 * (`wfmesh_workflows`). Any node reads and writes them; buckets are created by whoever comes first.
 */
export {
  ExecutionStore,
  EXECUTIONS_BUCKET,
  DEFAULT_EXECUTION_TTL_MS,
  TERMINAL_STATUSES,
  OPEN_STATUSES,
  isExecutionId,
  isTerminal,
  type ExecutionPage,
  type ExecutionQuery,
  type ExecutionStoreOptions,
  type StoredExecution,
  type ExecutionSource,
} from './execution-store.js';
export { ResultStore, RESULTS_BUCKET, type ResultStoreOptions } from './result-store.js';
export {
  WorkflowStore,
  WORKFLOWS_BUCKET,
  WorkflowNameSchema,
  SavedWorkflowSchema,
  type SavedWorkflow,
  type WorkflowSummary,
  type WorkflowStoreOptions,
} from './workflow-store.js';
export { RecordWriter, ROUND_INTERVAL_MS } from './record-writer.js';
export { endOrphan } from './orphans.js';
export { encodeRecord, type TruncatedValue } from './fit.js';
export { cancelInMesh, cancelledRecord } from './cancel.js';
