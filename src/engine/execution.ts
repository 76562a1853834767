/** One execution from start to its final record. */
import { NEVER_ABORTED } from '../executor/failures.js';
import { MeshError, StepFailure } from '../protocol/errors.js';
import type { ExecutionRecord } from '../protocol/execution.js';
import { isoTime } from '../protocol/iso-time.js';
import { pacer, StepError, type ExecutionContext } from './context.js';
import { Journal } from './journal.js';
import { GraphRun } from './graph-run.js';
import { newExecutionId } from './ids.js';
import { RecordKeeper } from './record.js';
import type { RunExecutionOptions } from './types.js';

const DEFAULT_TIMEOUT_MS = 300_000;

/**
 * Runs a workflow of a validated document. Resolves with the final record (completed, failed or
 * cancelled); a failing step never rejects it. Throws MeshError WORKFLOW_NOT_FOUND for an
 * unknown workflow.
 */
export async function runExecution(opts: RunExecutionOptions): Promise<ExecutionRecord> {
  const { document } = opts;
  const workflowId = opts.workflow ?? document.defaultWorkflow;
  const workflow = Object.hasOwn(document.workflows, workflowId) ? document.workflows[workflowId] : undefined;
  if (!workflow) {
    throw new MeshError('WORKFLOW_NOT_FOUND', `no workflow "${workflowId}" (workflows: ${Object.keys(document.workflows).join(', ')})`);
  }
  const created = isoTime(Date.now());
  const resumed = opts.resume;
  const epoch = opts.epoch ?? resumed?.epoch ?? 0;
  const record: ExecutionRecord = resumed
    ? { ...resumed, steps: resumed.steps.slice(), coordinator: opts.coordinator, epoch, status: 'running' }
    : {
        type: 'wfmesh.execution.v1',
        execution_id: opts.execution_id ?? newExecutionId(),
        workflow: workflowId,
        mode: opts.mode,
        status: 'running',
        input: opts.input,
        steps: [],
        coordinator: opts.coordinator,
        epoch,
        ...(opts.requested_by !== undefined && { requested_by: opts.requested_by }),
        created_at: created,
        updated_at: created,
      };
  const keeper = new RecordKeeper(record, {
    ...(opts.onUpdate && { onUpdate: opts.onUpdate }),
    ...(opts.onChange && { onChange: opts.onChange }),
    epoch,
  });
  const ctx: ExecutionContext = {
    executionId: record.execution_id,
    document,
    runner: opts.runner,
    keeper,
    isolation: opts.isolation ?? (opts.mode === 'isolated' ? 'child_process' : 'in_process'),
    coordinator: opts.coordinator,
    env: opts.env ?? {},
    defaultTimeoutMs: opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    random: opts.random ?? Math.random,
    epoch,
    ...(resumed && resumed.steps.length > 0 && { journal: new Journal(resumed.steps) }),
    ...(opts.beforeDispatch && { beforeDispatch: opts.beforeDispatch }),
    pace: pacer(),
  };
  // Without a signal nothing can cancel the execution: a controller of its own would only cost.
  const signal = opts.signal ?? NEVER_ABORTED;
  // A missing input reads as empty text, like an empty chat message.
  const given = resumed ? resumed.input : opts.input;
  const input = given === undefined ? '' : given;
  const graph = new GraphRun(ctx, workflow.steps, { prefix: '', input, aliases: workflow.aliases, locals: {}, depth: 0 }, signal);
  try {
    const output = await graph.run();
    return keeper.finish('completed', { output }, 'skipped');
  } catch (err) {
    const e = err instanceof StepError ? err : new StepError('', StepFailure.from(err));
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      const message = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'the execution was cancelled';
      return keeper.finish('cancelled', { error: { type: 'cancelled', message } }, 'cancelled');
    }
    const error = { ...(e.rowId && { step: e.rowId }), type: e.failure.type, message: e.failure.message };
    return keeper.finish('failed', { error }, 'skipped');
  }
}
