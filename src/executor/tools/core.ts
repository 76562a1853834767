import type { ToolHandler } from '../types.js';
import { echoTool } from './echo.js';
import { filesystemTool } from './filesystem.js';
import { httpTool } from './http.js';
import { shellTool } from './shell.js';
import { sleepTool } from './sleep.js';
import { transformTool } from './transform.js';

/**
 * The built-in tools that need no heavy module (no `openai`, no MCP SDK): what a slim isolated
 * worker loads, so that a fresh child starts fast.
 */
export const CORE_TOOL_HANDLERS: readonly ToolHandler[] = [filesystemTool, httpTool, transformTool, shellTool, echoTool, sleepTool];
