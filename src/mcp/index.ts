/**
 * The MCP face of a node: every tool of DESIGN.md section 4 (SDK McpServer, zod schemas), over
 * Streamable HTTP at /mcp (sessions, bearer token) and over stdio.
 */
export { createMcpServer } from './server.js';
export { attachMcpHttp, exposureWarning, isLoopback, type McpHttpEndpoint, type McpHttpOptions } from './http.js';
export { serveMcpStdio } from './stdio.js';
export { generationContext } from './tools-workflows.js';
export { describeIssues, type ToolContext, type ToolOutcome, type ToolSpec } from './tool-kit.js';
export * as mcpSchemas from './schemas.js';
