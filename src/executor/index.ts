/**
 * Step executors: run one resolved step task (an agent call or a built-in tool) on this node,
 * in process (`createStepExecutor`) or in a fresh child process per step (`createIsolatedExecutor`).
 */
import type { ExecutorEnvironment, StepExecutor, ToolCallDispatcher } from './types.js';
import { buildLocalExecutor, type LocalExecutorOptions } from './local.js';
import type { AgentRunner } from './local.js';
import { ALL_TOOL_HANDLERS } from './tools/all.js';
import { runStepWorker } from './isolated/worker.js';

export type {
  AgentToolContext,
  AllowPolicy,
  StepScope,
  ToolCallDispatch,
  ToolCallDispatcher,
  ToolMethodSchema,
  ExecutorEnvironment,
  LlmSettings,
  StepExecutor,
  StepRunContext,
  ToolCall,
  ToolHandler,
} from './types.js';
export { failureFromAbort } from './failures.js';
export { ToolCallCollector, toolCallsOf, withToolCalls } from './agent-tools/collector.js';

export { BUILTIN_TOOL_TYPES, hasSideEffects } from './builtin.js';
export { createIsolatedExecutor, setIsolatedWorkerCommand } from './isolated/executor.js';
export type { IsolatedExecutor, IsolatedExecutorOptions, WorkerCommand } from './isolated/executor.js';

/**
 * Agent steps, with the `openai` SDK loaded on the first one: it is the largest module a node
 * could load, and a node without an LLM never needs it.
 */
const runAgentStep: AgentRunner = async (agent, input, ctx) => (await import('./agent.js')).runAgentStep(agent, input, ctx);

/**
 * An in-process executor. `opts.tools` narrows what it offers (an unknown name throws MeshError
 * CONFIG_INVALID); `shell` is offered only when `env.allow.shell_commands` is non-empty.
 * `opts.toolCalls` places agents' tool calls (a node passes its mesh); without it they run here,
 * through this same executor, as a standalone executor's user expects.
 */
export function createStepExecutor(env: ExecutorEnvironment, opts: LocalExecutorOptions = {}): StepExecutor {
  // A call that fails here ran here too: the record names its node either way (only a call never run has none).
  const here: ToolCallDispatcher = {
    dispatch: async (call, signal) => {
      call.onSent?.(env.node_name);
      try {
        return { output: await executor.execute(call.task, signal), node: env.node_name };
      } catch (err) {
        if (err !== null && typeof err === 'object') Object.assign(err, { node: env.node_name });
        throw err;
      }
    },
  };
  const executor = buildLocalExecutor(env, { handlers: ALL_TOOL_HANDLERS, agent: runAgentStep }, { ...opts, toolCalls: opts.toolCalls ?? here });
  return executor;
}

/**
 * The loop of an isolated step process (`wfmesh __step-worker`, started by createIsolatedExecutor
 * through setIsolatedWorkerCommand): runs the one task its parent sends over IPC, then exits.
 * Resolves only when started without an IPC channel (with exit code 2).
 */
export function runIsolatedStepWorker(): Promise<number> {
  return runStepWorker({ handlers: ALL_TOOL_HANDLERS, agent: runAgentStep });
}
