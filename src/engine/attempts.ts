/**
 * Agent and tool steps: resolve the task once, then run attempts through the runner, retrying
 * retryable failures with exponential backoff and jitter.
 */
import { StepFailure } from '../protocol/errors.js';
import type { Requires, StepTask } from '../protocol/step.js';
import { AgentToolConflict, combineRequires, resolveAgentTools, resolveTemplate, templateVariables, VariableError, type AgentStep, type Retry, type ToolStep, type VariableScope, type WorkflowDocument } from '../workflow/index.js';
import type { StepCall } from './types.js';
import { toolCallsOf } from '../executor/agent-tools/collector.js';
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
  // Object.assign, not a spread: the scope's shape varies by frame, and V8 copies those slowly.
  const scope: VariableScope = idempotencyKey === undefined || !readsIdempotencyKey(step) ? outer : Object.assign({}, outer, { idempotencyKey });
  try {
    // Tool settings may only read ${env.*}: they belong to the tool, not to one step's data.
    const settingsOf = (s: Record<string, unknown>) => resolveTemplate(s, { input: undefined, step: () => undefined, env }) as Record<string, unknown>;
    if (step.kind === 'agent') {
      const key = idempotencyKey === undefined ? {} : { idempotency_key: idempotencyKey };
      const declaredAgent = doc.agents[step.agent] as NonNullable<WorkflowDocument['agents'][string]>;
      const { requires: agentRequires, tools: _refs, ...agent } = declaredAgent;
      const requires = agentRequires || step.requires ? { ...agentRequires, ...step.requires } : undefined;
      const tools = declaredAgent.tools?.length ? resolveAgentTools(doc, declaredAgent, requires?.region, settingsOf) : undefined;
      const spec = tools ? { ...agent, tools } : agent;
      return { task: { kind: 'agent', agent: spec, input: resolveTemplate(step.input, scope), ...key }, ...(requires && { requires }) };
    }
    const declared = Object.hasOwn(doc.tools, step.tool) ? doc.tools[step.tool] : undefined;
    const tool = declared ?? { id: step.tool, type: step.tool };
    const settings = tool.settings && settingsOf(tool.settings);
    // The tool's own constraints hold for every step that uses it; the step may only narrow them.
    const placed = placementOf(step, declared?.requires);
    if (placed.conflict !== undefined) throw new StepFailure('infeasible', `step ${step.id}: tool "${tool.id}" and the step's requires conflict (${placed.conflict})`, false);
    // Optional fields are added, not spread in: a step's task is built on every attempt, and a
    // spread of a small object costs more than the rest of it.
    const task: Extract<StepTask, { kind: 'tool' }> = { kind: 'tool', tool_id: tool.id, tool_type: tool.type, args: resolveTemplate(step.args, scope) };
    if (step.method !== undefined) task.method = step.method;
    if (settings) task.settings = settings;
    if (idempotencyKey !== undefined) task.idempotency_key = idempotencyKey;
    return placed.requires ? { task, requires: placed.requires } : { task };
  } catch (err) {
    if (err instanceof VariableError) throw new StepFailure('invalid_args', err.message, false);
    if (err instanceof AgentToolConflict) throw new StepFailure('invalid_args', err.message, false);
    throw err;
  }
}

/** Whether a step's templates read `${context.idempotency_key}`, worked out once per step. */
const keyReaders = new WeakMap<AgentStep | ToolStep, boolean>();

function readsIdempotencyKey(step: AgentStep | ToolStep): boolean {
  let reads = keyReaders.get(step);
  if (reads === undefined) {
    try {
      reads = templateVariables(step.kind === 'agent' ? step.input : step.args).some((v) => v.path[0] === 'context' && v.path[1] === 'idempotency_key');
    } catch {
      reads = true; // an invalid template: resolving it fails as it always did
    }
    keyReaders.set(step, reads);
  }
  return reads;
}

/**
 * A tool step's constraints with its tool's, worked out once per step: the same object on every
 * run, so that placement's caches (keyed by it) hit instead of serialising a fresh one each time.
 */
const placements = new WeakMap<ToolStep, ReturnType<typeof combineRequires>>();

function placementOf(step: ToolStep, toolRequires: Requires | undefined): ReturnType<typeof combineRequires> {
  let placed = placements.get(step);
  if (!placed) placements.set(step, (placed = combineRequires(toolRequires, step.requires)));
  return placed;
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
      let sent = false;
      // Optional fields are added after, not spread in (see buildTask).
      const call: { -readonly [K in keyof StepCall]: StepCall[K] } = {
        execution_id: ctx.executionId,
        step_id: rowId,
        attempt,
        task: built.task,
        timeout_ms: timeoutMs,
        isolation: ctx.isolation,
        idempotency_key: key,
        epoch: ctx.epoch,
        track: (e) => {
          if (e.kind === 'sent') {
            sent = true;
            ctx.keeper.dispatched(rowId, attempt, e.node);
          } else if (e.kind === 'ended') ctx.keeper.dispatchEnded(rowId, attempt, e.node, e.status, e.error);
          else ctx.keeper.toolCall(rowId, attempt, e.call);
        },
        awaitDurable: () => ctx.beforeDispatch?.(call, () => ctx.keeper.release()),
      };
      if (built.requires) call.requires = built.requires;
      if (preferNode !== undefined) {
        call.redelivery = true;
        if (preferNode) call.prefer_node = preferNode;
      }
      try {
        // The runner awaits call.awaitDurable once it knows where the attempt goes (one write).
        const running = ctx.runner.run(call, signal);
        // One that sent the attempt at once (the mesh runner does, in this same turn) marked the
        // row running with its dispatch; any other runner's attempt starts running here.
        if (!sent) ctx.keeper.running(rowId, attempt);
        const result = await running;
        if (result.tool_calls) ctx.keeper.toolCalls(rowId, attempt, result.tool_calls);
        return result;
      } catch (err) {
        const calls = toolCallsOf(err);
        if (calls) ctx.keeper.toolCalls(rowId, attempt, calls);
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
