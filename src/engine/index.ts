/**
 * The engine: runs one execution of a workflow over a StepRunner (the seam between the pure
 * step graph and wherever steps actually run). No I/O of its own.
 */
export type { DispatchEvent, StepCall, StepRunner, RunExecutionOptions } from './types.js';
export { runExecution } from './execution.js';
export { LocalStepRunner } from './local-runner.js';
export { newExecutionId } from './ids.js';
export { backoffMs } from './attempts.js';
export { idempotencyKey } from './attempts.js';
