import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { EmptyResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ExecutionService } from '../executions/index.js';
import type { MeshNode } from '../node/mesh-node.js';
import { VERSION } from '../version.js';
import { ProgressStream } from './progress.js';
import { installTools, type ToolCallExtra, type ToolContext } from './tool-kit.js';
import { executionTools } from './tools-executions.js';
import { workflowTools } from './tools-workflows.js';

/** How long a call's result waits for the client to answer the ping that follows its progress. */
const PING_TIMEOUT_MS = 2_000;

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
      // once: when a notification and the result arrive in one read, the result retires the token
      // and the notification is lost ("unknown token"). No pause is long enough on a busy machine;
      // a ping is: the client answers it only after handling everything sent before it.
      flush: async () => {
        stream.stop();
        await sent;
        if (stream.sent === 0 || extra.signal.aborted) return;
        await extra.sendRequest({ method: 'ping' }, EmptyResultSchema, { timeout: PING_TIMEOUT_MS }).catch((err: Error) => log.debug({ err: err.message }, 'no answer to the ping after progress'));
      },
    };
  };
  installTools(server, [...workflowTools(node, executions, maxInputBytes), ...executionTools(executions, maxInputBytes)], log, context);
  return server;
}
