import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ExecutionService } from '../node/execution-service.js';
import type { MeshNode } from '../node/mesh-node.js';
import { VERSION } from '../version.js';
import { ProgressStream } from './progress.js';
import { installTools, type ToolCallExtra, type ToolContext } from './tool-kit.js';
import { executionTools } from './tools-executions.js';
import { workflowTools } from './tools-workflows.js';

/** The pause between a call's last progress notification and its result (see flush below). */
const RESULT_GAP_MS = 20;

const INSTRUCTIONS = `wfmesh: a peer-to-peer workflow-executor mesh. Any node answers for any execution in the mesh.
Typical flow: generate_workflow (or write YAML) → validate_workflow → execute_workflow → get_execution.
Long runs: pass a progressToken for progress notifications, or mode "async" and poll get_execution.`;

/**
 * One MCP server (the SDK's McpServer) with every wfmesh tool, bound to this node. Each HTTP
 * session and the stdio transport get their own instance; all share the node's execution service.
 * `caller` names who is on the other end in records and audit lines (`mcp:http 10.0.0.7`, `mcp:stdio`).
 */
export function createMcpServer(node: MeshNode, executions: ExecutionService, transport: 'http' | 'stdio', caller = `mcp:${transport}`): McpServer {
  const server = new McpServer({ name: 'wfmesh', version: VERSION, title: `wfmesh node ${node.name}` }, { instructions: INSTRUCTIONS });
  const log = node.log.child({ component: 'mcp', transport });
  const maxInputBytes = node.options.limits.maxInputBytes;
  const heartbeatMs = node.options.http.progressMs ?? 15_000;
  const context = (extra: ToolCallExtra): ToolContext => {
    const client = server.server.getClientVersion()?.name;
    const requestedBy = client ? `${caller} (${client.slice(0, 64)})` : caller;
    const token = extra._meta?.progressToken;
    if (token === undefined) return { signal: extra.signal, requestedBy, progress: () => undefined, flush: async () => undefined };
    // Notifications go out in order, one after the other, and all before the tool's result:
    // a progress notification that overtook the result would name a token the client forgot.
    let sent: Promise<void> = Promise.resolve();
    const stream = new ProgressStream({
      heartbeatMs,
      signal: extra.signal,
      send: (p) => {
        sent = sent
          .then(() => extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } }))
          // The client may be gone by now (a closed stream throws "Not connected"): never fatal.
          .catch((err: Error) => log.debug({ err: err.message }, 'progress notification not delivered'));
      },
    });
    // From the start of the call: a slow generation or a long step both keep the client waiting.
    stream.start();
    return {
      signal: extra.signal,
      requestedBy,
      progress: (p) => stream.report(p),
      // The 1.x SDK client runs notification handlers a microtask late but handles a response at
      // once: when both arrive in one read, the response retires the token first and the last
      // notifications are lost ("unknown token"). A pause between the last notification and the
      // result keeps them in separate reads; 2 ms was not enough on a busy machine (stdio, load 20).
      flush: () => {
        stream.stop();
        return sent.then(() => (stream.sent ? new Promise<void>((resolve) => setTimeout(resolve, RESULT_GAP_MS)) : undefined));
      },
    };
  };
  installTools(server, [...workflowTools(node, executions, maxInputBytes), ...executionTools(executions, maxInputBytes)], log, context);
  return server;
}
