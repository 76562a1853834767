import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { ExecutionService } from '../executions/index.js';
import type { MeshNode } from '../node/mesh-node.js';
import { createMcpServer } from './server.js';

/**
 * Serves the MCP tools over stdin/stdout (desktop MCP clients). stdout carries only the protocol:
 * logs go to stderr. Resolves when the client closes stdin (or the transport closes).
 */
export async function serveMcpStdio(node: MeshNode, executions: ExecutionService): Promise<void> {
  const server = createMcpServer(node, executions, 'stdio');
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  await server.connect(transport);
  node.log.info({ node: node.name }, 'MCP over stdio');
  await closed;
  await server.close().catch(() => undefined);
}
