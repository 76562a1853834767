/**
 * Step executors: run one resolved step task (an agent call or a built-in tool) on this node,
 * in process (`createStepExecutor`) or in a fresh child process per step (`createIsolatedExecutor`).
 */
import type { ExecutorEnvironment, StepExecutor } from './types.js';
import { buildLocalExecutor, type LocalExecutorOptions } from './local.js';
import { runAgentStep } from './agent.js';
import { ALL_TOOL_HANDLERS } from './tools/all.js';

export type {
  AllowPolicy,
  ExecutorEnvironment,
  LlmSettings,
  StepExecutor,
  StepRunContext,
  ToolCall,
  ToolHandler,
} from './types.js';
export { failureFromAbort } from './failures.js';

/** Every built-in tool type, in the order a node lists them. */
export const BUILTIN_TOOL_TYPES: readonly string[] = ALL_TOOL_HANDLERS.map((h) => h.type);

/**
 * An in-process executor. `opts.tools` narrows what it offers (an unknown name throws MeshError
 * CONFIG_INVALID); `shell` is offered only when `env.allow.shell_commands` is non-empty.
 */
export function createStepExecutor(env: ExecutorEnvironment, opts: LocalExecutorOptions = {}): StepExecutor {
  return buildLocalExecutor(env, { handlers: ALL_TOOL_HANDLERS, agent: runAgentStep }, opts);
}
