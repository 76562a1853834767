import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { StepFailure } from '../../protocol/errors.js';
import { VERSION } from '../../version.js';
import { MCPREMOTE_METHODS } from '../builtin.js';
import type { ToolHandler } from '../types.js';
import { describeError, failureFromAbort, parseArgs } from '../failures.js';
import { checkOutboundUrl } from './hosts.js';
import { methodOf } from './method.js';

const DEFAULT_TIMEOUT_MS = 60_000;

const CallArgs = z.object({
  tool: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()).default({}),
  mcp_url: z.string().min(1).optional(),
});
const ListArgs = z.object({ mcp_url: z.string().min(1).optional() });
const Settings = z
  .object({
    mcp_url: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    timeout_ms: z.number().int().positive().optional(),
  })
  .loose();

/**
 * `mcpremote.call`: calls a tool on another MCP server over Streamable HTTP with the SDK client.
 * The server is `settings.mcp_url` (or `args.mcp_url`); its host must be on the node's
 * `allow.http_hosts`, like any outbound call. Output: the result's structuredContent when there
 * is one, else its text (one text item) or its content list. An `isError` result fails the step.
 * `mcpremote.list_tools` returns the server's tools (name, description, inputSchema): what a
 * tool-calling agent offers its model.
 */
export const mcpRemoteTool: ToolHandler = {
  type: 'mcpremote',
  methods: MCPREMOTE_METHODS,
  async run(call, ctx) {
    const method = methodOf(call, 'mcpremote', MCPREMOTE_METHODS, 'call');
    const settings = parseArgs(Settings, call.settings, 'mcpremote settings');
    const args = method === 'call' ? parseArgs(CallArgs, call.args, 'mcpremote.call') : undefined;
    const listing = method === 'list_tools' ? parseArgs(ListArgs, call.args, 'mcpremote.list_tools') : undefined;
    const raw = settings.mcp_url ?? (args ?? listing)?.mcp_url;
    if (!raw) throw new StepFailure('invalid_args', `mcpremote.${method}: no MCP server: set mcp_url in the tool settings or in args`);
    const url = checkOutboundUrl(raw, ctx.env.allow.http_hosts, 'mcpremote');
    const timeout = settings.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    const headers: Record<string, string> = settings.token ? { authorization: `Bearer ${settings.token}` } : {};
    const name = args?.tool ?? '(tools/list)';

    const client = new Client({ name: `wfmesh-${ctx.env.node_name}`, version: VERSION });
    const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
    try {
      await client.connect(transport, { signal: ctx.signal, timeout });
      if (!args) return await listTools(client, ctx.signal, timeout);
      const result = await client.callTool({ name: args.tool, arguments: args.arguments }, undefined, { signal: ctx.signal, timeout });
      const content = Array.isArray(result.content) ? (result.content as { type: string; text?: string }[]) : [];
      const texts = content.filter((c) => c.type === 'text').map((c) => c.text ?? '');
      if (result.isError) {
        throw new StepFailure('tool_error', `mcpremote: tool "${args.tool}" at ${url.host} failed: ${texts.join('\n') || 'no message'}`);
      }
      if (result.structuredContent !== undefined) return result.structuredContent;
      if (content.length === 1 && texts.length === 1) return texts[0];
      return content;
    } catch (err) {
      throw remoteFailure(err, name, url, timeout, ctx.signal);
    } finally {
      await client.close().catch(() => undefined);
    }
  },
};

/** One tool a remote server lists: what an agent's model is offered under the tool's namespace. */
export interface RemoteToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** Every page of `tools/list` (bounded: a server that pages forever is cut off). */
async function listTools(client: Client, signal: AbortSignal, timeout: number): Promise<RemoteToolInfo[]> {
  const out: RemoteToolInfo[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const res = await client.listTools(cursor === undefined ? {} : { cursor }, { signal, timeout });
    for (const t of res.tools) out.push({ name: t.name, ...(t.description !== undefined && { description: t.description }), inputSchema: t.inputSchema as Record<string, unknown> });
    cursor = res.nextCursor;
    if (cursor === undefined) break;
  }
  return out;
}

function remoteFailure(err: unknown, tool: string, url: URL, timeout: number, signal: AbortSignal): StepFailure {
  if (err instanceof StepFailure) return err;
  if (signal.aborted) return failureFromAbort(signal);
  const where = `MCP server at ${url.href}`;
  if (err instanceof StreamableHTTPError && (err.code === 401 || err.code === 403)) {
    return new StepFailure('tool_error', `mcpremote: ${where} refused the credentials (HTTP ${err.code}); check settings.token`, false);
  }
  if (err instanceof McpError) {
    if (err.code === ErrorCode.RequestTimeout) return new StepFailure('timeout', `mcpremote: tool "${tool}" at ${where} timed out after ${timeout} ms`);
    if (err.code === ErrorCode.InvalidParams || err.code === ErrorCode.MethodNotFound) {
      return new StepFailure('invalid_args', `mcpremote: ${where} rejected the call to "${tool}": ${err.message}`);
    }
  }
  return new StepFailure('tool_error', `mcpremote: calling "${tool}" on ${where} failed: ${describeError(err)}`);
}
