/**
 * Agent and tool steps: resolve the task once, then run attempts through the runner, retrying
 * retryable failures with exponential backoff and jitter.
 */
import { StepFailure } from '../protocol/errors.js';
import type { Requires, StepTask } from '../protocol/step.js';
import { resolveTemplate, VariableError, type AgentStep, type Retry, type ToolStep, type VariableScope, type WorkflowDocument } from '../workflow/index.js';
import type { StepCall } from './types.js';
import type { ExecutionContext } from './context.js';

/**
 * Builds the resolved task of an agent or tool step for one attempt (`${context.idempotency_key}`
 * is that attempt's key); a variable that cannot resolve fails it.
 */
export function buildTask(
  doc: WorkflowDocument,
  step: AgentStep | ToolStep,
  outer: VariableScope,
  env: Readonly<Record<string, string>>,
  idempotencyKey?: string,
): { task: StepTask; requires?: Requires } {
  const scope: VariableScope = idempotencyKey === undefined ? outer : { ...outer, idempotencyKey };
  const key = idempotencyKey === undefined ? {} : { idempotency_key: idempotencyKey };
  try {
    if (step.kind === 'agent') {
      const { requires: agentRequires, ...agent } = doc.agents[step.agent] as NonNullable<WorkflowDocument['agents'][string]>;
      const requires = agentRequires || step.requires ? { ...agentRequires, ...step.requires } : undefined;
      return { task: { kind: 'agent', agent, input: resolveTemplate(step.input, scope), ...key }, ...(requires && { requires }) };
    }
    const declared = Object.hasOwn(doc.tools, step.tool) ? doc.tools[step.tool] : undefined;
    const tool = declared ?? { id: step.tool, type: step.tool };
    // Tool settings may only read ${env.*}: they belong to the tool, not to one step's data.
    const settings = tool.settings && (resolveTemplate(tool.settings, { input: undefined, step: () => undefined, env }) as Record<string, unknown>);
    const task: StepTask = {
      kind: 'tool',
      tool_id: tool.id,
      tool_type: tool.type,
      ...(step.method !== undefined && { method: step.method }),
      args: resolveTemplate(step.args, scope),
      ...(settings && { settings }),
      ...key,
    };
    return { task, ...(step.requires && { requires: step.requires }) };
  } catch (err) {
    if (err instanceof VariableError) throw new StepFailure('invalid_args', err.message, false);
    throw err;
  }
}

/** The idempotency key of one attempt: stable across re-dispatch and takeover. */
export function idempotencyKey(executionId: string, rowId: string, attempt: number): string {
  return `${executionId}:${rowId}:${attempt}`;
}

/**
 * Runs the attempts of one step; resolves with output and node or rejects with StepFailure.
 * `build` resolves the task for one attempt's idempotency key. Attempts the journal knows (a
 * resumed execution) are answered from it; an attempt that was in flight goes out again as a
 * redelivery under the same key.
 */
export async function runAttempts(
  ctx: ExecutionContext,
  rowId: string,
  build: (idempotencyKey: string) => { task: StepTask; requires?: Requires },
  retry: Retry | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ output: unknown; node: string }> {
  const retries = retry?.count ?? 0;
  for (let attempt = 1; ; attempt++) {
    const paused = ctx.pace();
    if (paused) await paused;
    if (signal.aborted) throw cancelled(signal);
    const replayed = ctx.journal?.lookup(rowId, attempt);
    if (replayed?.kind === 'completed') return { output: replayed.output, node: replayed.node };
    let failure: StepFailure;
    if (replayed?.kind === 'failed') {
      failure = replayed.failure;
      if (replayed.node !== undefined) Object.assign(failure, { node: replayed.node });
    } else {
      const key = idempotencyKey(ctx.executionId, rowId, attempt);
      const built = build(key);
      const preferNode = ctx.journal?.dispatchedTo(rowId, attempt);
      const call: StepCall = {
        execution_id: ctx.executionId,
        step_id: rowId,
        attempt,
        task: built.task,
        ...(built.requires && { requires: built.requires }),
        timeout_ms: timeoutMs,
        isolation: ctx.isolation,
        idempotency_key: key,
        epoch: ctx.epoch,
        ...(preferNode !== undefined && { redelivery: true, ...(preferNode && { prefer_node: preferNode }) }),
        track: (e) => (e.kind === 'sent' ? ctx.keeper.dispatched(rowId, attempt, e.node) : ctx.keeper.dispatchEnded(rowId, attempt, e.node, e.status, e.error)),
        awaitDurable: () => ctx.beforeDispatch?.(call),
      };
      ctx.keeper.running(rowId, attempt);
      try {
        // The runner awaits call.awaitDurable once it knows where the attempt goes (one write).
        return await ctx.runner.run(call, signal);
      } catch (err) {
        if (signal.aborted) throw cancelled(signal);
        failure = StepFailure.from(err);
        const node = (err as { node?: unknown } | null)?.node;
        if (typeof node === 'string') Object.assign(failure, { node });
      }
    }
    if (!failure.retryable || attempt > retries || !retry) throw failure;
    // A replayed failure already waited its backoff before the takeover.
    if (!replayed) await sleep(backoffMs(retry, attempt, ctx.random), signal);
  }
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffMs(retry: Retry, attempt: number, random: () => number): number {
  const exp = Math.min(retry.max_backoff_ms, retry.backoff_ms * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

export function cancelled(signal: AbortSignal): StepFailure {
  const reason: unknown = signal.reason;
  if (reason instanceof StepFailure) return reason;
  return new StepFailure('cancelled', 'the execution was cancelled', false);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
