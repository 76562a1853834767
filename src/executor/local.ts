import { MeshError, StepFailure } from '../protocol/errors.js';
import type { AgentSpec, StepTask } from '../protocol/step.js';
import type { AgentToolContext, ExecutorEnvironment, StepExecutor, StepRunContext, StepScope, ToolCall, ToolCallDispatcher, ToolHandler } from './types.js';
import { checkOutputSize, describeError, failureFromAbort, NEVER_ABORTED, throwIfAborted } from './failures.js';

/** Runs an agent step (the `openai` client lives behind this, so slim workers can leave it out). */
export type AgentRunner = (agent: AgentSpec, input: unknown, ctx: StepRunContext) => Promise<unknown>;

/** What an executor is assembled from. */
export interface ExecutorParts {
  readonly handlers: readonly ToolHandler[];
  readonly agent?: AgentRunner;
}

export interface LocalExecutorOptions {
  /** Subset of tool types to offer (default: every handler the environment allows). */
  readonly tools?: readonly string[];
  /** Places the tool calls of agents (the node's mesh); absent: agents with tools are refused. */
  readonly toolCalls?: ToolCallDispatcher;
}

/** An agent step run without a step scope (a direct call, a test): its calls get these bounds. */
const UNSCOPED_DEADLINE_MS = 300_000;

/**
 * The tool types an executor offers: the requested subset of the handlers, minus `shell` unless
 * the node allows at least one command, and minus `filesystem` unless it has a root. Unknown names are a configuration error.
 */
export function offeredTools(env: ExecutorEnvironment, known: readonly string[], requested?: readonly string[]): string[] {
  const unknown = (requested ?? []).filter((t) => !known.includes(t));
  if (unknown.length) {
    throw new MeshError('CONFIG_INVALID', `unknown tool type ${unknown.map((t) => `"${t}"`).join(', ')}: built-in types are ${known.join(', ')}`);
  }
  const wanted = requested ?? known;
  return known.filter(
    (t) => wanted.includes(t) && (t !== 'shell' || env.allow.shell_commands.length > 0) && (t !== 'filesystem' || env.allow.filesystem_root !== undefined),
  );
}

/** An in-process executor over the given handlers. */
export function buildLocalExecutor(env: ExecutorEnvironment, parts: ExecutorParts, opts: LocalExecutorOptions = {}): StepExecutor {
  const tools = offeredTools(env, parts.handlers.map((h) => h.type), opts.tools);
  const byType = new Map(parts.handlers.filter((h) => tools.includes(h.type)).map((h) => [h.type, h]));
  // Schemas of every type, offered here or not: an agent's tool call may run on another node.
  const schemasOf = new Map(parts.handlers.map((h) => [h.type, h.schemas]));
  return {
    tools,
    async execute(task: StepTask, signal: AbortSignal, scope?: StepScope): Promise<unknown> {
      throwIfAborted(signal);
      const agentTools: AgentToolContext | undefined =
        task.kind === 'agent' && task.agent.tools?.length
          ? {
              methodsOf: (type) => schemasOf.get(type),
              dispatcher: opts.toolCalls,
              scope: scope ?? { execution_id: 'direct', step_id: task.agent.id, attempt: 1, deadline: Date.now() + UNSCOPED_DEADLINE_MS, placement: 'here' },
            }
          : undefined;
      const ctx: StepRunContext = { signal, env, ...(agentTools && { agentTools }) };
      const output = await raceAbort(runTask(task, ctx), signal);
      checkOutputSize(output, env.max_output_bytes);
      return output ?? null;
    },
    isInstant: (task) => task.kind === 'tool' && byType.get(task.tool_type)?.runNow !== undefined,
    runNow(task: StepTask): unknown {
      const handler = task.kind === 'tool' ? byType.get(task.tool_type) : undefined;
      if (task.kind !== 'tool' || !handler?.runNow) throw new StepFailure('internal', `runNow: ${task.kind === 'tool' ? task.tool_type : 'an agent'} is not an instant tool`);
      let output: unknown;
      try {
        output = handler.runNow(toolCall(task));
      } catch (err) {
        throw toolFailure(task, err);
      }
      checkOutputSize(output, env.max_output_bytes);
      return output ?? null;
    },
  };

  async function runTask(task: StepTask, ctx: StepRunContext): Promise<unknown> {
    if (task.kind === 'agent') {
      if (!parts.agent) throw new StepFailure('unsupported', 'this executor does not run agent steps');
      try {
        return await parts.agent(task.agent, task.input, ctx);
      } catch (err) {
        throw ctx.signal.aborted ? failureFromAbort(ctx.signal) : StepFailure.from(err, 'agent_error');
      }
    }
    const handler = byType.get(task.tool_type);
    if (!handler) {
      const offered = tools.length ? tools.join(', ') : 'none';
      throw new StepFailure('unsupported', `node "${env.node_name}" does not offer tool type "${task.tool_type}" (it offers: ${offered})`);
    }
    try {
      return await handler.run(toolCall(task), ctx);
    } catch (err) {
      if (ctx.signal.aborted) throw failureFromAbort(ctx.signal);
      throw toolFailure(task, err);
    }
  }
}

type ToolTask = Extract<StepTask, { kind: 'tool' }>;

function toolCall(task: ToolTask): ToolCall {
  return { method: task.method, args: task.args, settings: task.settings ?? {}, ...(task.idempotency_key !== undefined && { idempotency_key: task.idempotency_key }) };
}

/** What a tool threw, as the step's failure: its own StepFailure, or a tool_error naming it. */
function toolFailure(task: ToolTask, err: unknown): StepFailure {
  if (err instanceof StepFailure) return err;
  return new StepFailure('tool_error', `${task.tool_type} (${task.tool_id}): ${describeError(err)}`);
}

/** Settles with the abort failure as soon as the signal fires, even if the work ignores it. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal === NEVER_ABORTED) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(failureFromAbort(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
