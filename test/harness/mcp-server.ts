/**
 * A real MCP server (the SDK's McpServer) over Streamable HTTP on 127.0.0.1:0, stateless, for
 * tests of MCP clients such as the `mcpremote` tool:
 *
 *   const mcp = await startMcpTestServer();            // or { token: 's3cret' } to require a bearer token
 *   // mcp.url: http://127.0.0.1:PORT/mcp
 *   await mcp.close();
 *
 * Tools: `add` {a, b} → text "a+b" and structuredContent {sum}; `upper` {text} → text;
 * `fail` {message} → an isError result; `slow` {ms} → text "done" after ms (ends early on cancel).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export interface McpTestServerOptions {
  /** When set, every request must carry `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
}

export interface McpTestServer {
  /** The Streamable HTTP endpoint, ending in /mcp. */
  url: string;
  /** Names of the tools called so far, in order. */
  calls: string[];
  close(): Promise<void>;
}

function buildServer(calls: string[]): McpServer {
  const server = new McpServer({ name: 'wfmesh-test-mcp', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } },
    ({ a, b }) => {
      calls.push('add');
      return { content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } };
    },
  );
  server.registerTool('upper', { description: 'Upper-cases text', inputSchema: { text: z.string() } }, ({ text }) => {
    calls.push('upper');
    return { content: [{ type: 'text', text: text.toUpperCase() }] };
  });
  server.registerTool('fail', { description: 'Always fails', inputSchema: { message: z.string() } }, ({ message }) => {
    calls.push('fail');
    return { isError: true, content: [{ type: 'text', text: message }] };
  });
  server.registerTool('slow', { description: 'Answers after ms', inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
    calls.push('slow');
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      extra.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });
    return { content: [{ type: 'text', text: 'done' }] };
  });
  return server;
}

/** Starts the server; stateless: every POST gets a fresh McpServer and transport. */
export async function startMcpTestServer(opts: McpTestServerOptions = {}): Promise<McpTestServer> {
  const calls: string[] = [];
  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((req.url ?? '').split('?')[0] !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const server = buildServer(calls);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
