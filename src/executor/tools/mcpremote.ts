import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { StepFailure } from '../../protocol/errors.js';
import { VERSION } from '../../version.js';
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
 */
export const mcpRemoteTool: ToolHandler = {
  type: 'mcpremote',
  methods: ['call'],
  async run(call, ctx) {
    methodOf(call, 'mcpremote', ['call'], 'call');
    const args = parseArgs(CallArgs, call.args, 'mcpremote.call');
    const settings = parseArgs(Settings, call.settings, 'mcpremote settings');
    const raw = settings.mcp_url ?? args.mcp_url;
    if (!raw) throw new StepFailure('invalid_args', 'mcpremote.call: no MCP server: set mcp_url in the tool settings or in args');
    const url = checkOutboundUrl(raw, ctx.env.allow.http_hosts, 'mcpremote');
    const timeout = settings.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    const headers: Record<string, string> = settings.token ? { authorization: `Bearer ${settings.token}` } : {};

    const client = new Client({ name: `wfmesh-${ctx.env.node_name}`, version: VERSION });
    const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
    try {
      await client.connect(transport, { signal: ctx.signal, timeout });
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
      throw remoteFailure(err, args.tool, url, timeout, ctx.signal);
    } finally {
      await client.close().catch(() => undefined);
    }
  },
};

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
