import type { StepTask } from '../protocol/step.js';

/** Every built-in tool type, in the order a node lists them (kept equal to the handlers by a test). */
export const BUILTIN_TOOL_TYPES: readonly string[] = ['filesystem', 'http', 'transform', 'shell', 'mcpremote', 'echo', 'sleep'];

/** The methods of `mcpremote` (here, so that its on-demand stand-in need not load the MCP SDK). */
export const MCPREMOTE_METHODS: readonly string[] = ['call', 'list_tools'];

/** Built-in tools whose calls change nothing outside the step (running one twice is harmless). */
const SIDE_EFFECT_FREE: ReadonlySet<string> = new Set(['echo', 'sleep', 'transform']);
const READ_ONLY_FILESYSTEM: ReadonlySet<string> = new Set(['read_file', 'list_dir']);

/**
 * Whether running `task` may change the world (a file, an HTTP API, an LLM bill): such steps are
 * answered from stored results when their idempotency key already completed, and their results
 * are stored before the reply leaves.
 */
export function hasSideEffects(task: StepTask): boolean {
  if (task.kind === 'agent') return true;
  if (SIDE_EFFECT_FREE.has(task.tool_type)) return false;
  if (task.tool_type === 'filesystem' && task.method !== undefined && READ_ONLY_FILESYSTEM.has(task.method)) return false;
  if (task.tool_type === 'mcpremote' && task.method === 'list_tools') return false;
  return true;
}
