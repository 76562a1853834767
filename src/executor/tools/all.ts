import { MCPREMOTE_METHODS } from '../builtin.js';
import type { ToolHandler } from '../types.js';
import { CORE_TOOL_HANDLERS } from './core.js';

/**
 * `mcpremote`, loaded on its first call: the MCP SDK client is several MiB of a node's idle
 * memory, and most nodes never call a remote MCP server.
 */
const mcpRemoteOnDemand: ToolHandler = {
  type: 'mcpremote',
  methods: MCPREMOTE_METHODS,
  run: async (call, ctx) => (await import('./mcpremote.js')).mcpRemoteTool.run(call, ctx),
};

/** Every built-in tool, in the order a node lists them. */
export const ALL_TOOL_HANDLERS: readonly ToolHandler[] = [...CORE_TOOL_HANDLERS.slice(0, 4), mcpRemoteOnDemand, ...CORE_TOOL_HANDLERS.slice(4)];
