import type { ToolHandler } from '../types.js';
import { CORE_TOOL_HANDLERS } from './core.js';
import { mcpRemoteTool } from './mcpremote.js';

/** Every built-in tool, in the order a node lists them. */
export const ALL_TOOL_HANDLERS: readonly ToolHandler[] = [...CORE_TOOL_HANDLERS.slice(0, 4), mcpRemoteTool, ...CORE_TOOL_HANDLERS.slice(4)];
