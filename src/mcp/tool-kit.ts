import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, ErrorCode, McpError, type CallToolResult, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { MeshError } from '../protocol/errors.js';

/** What a tool gets besides its arguments. */
export interface ToolContext {
  /** Aborted when the client cancels the request or the session ends. */
  signal: AbortSignal;
  /** Reports progress when the client asked for it (a progressToken); a no-op otherwise. */
  progress(p: { progress: number; total?: number; message?: string }): void;
  /** "mcp:http <address> (<client>)" or "mcp:stdio (<client>)", recorded with executions. */
  requestedBy: string;
  /** Resolves once every progress notification sent so far is out: the result must come after them. */
  flush(): Promise<void>;
}

/** A tool's answer: a result, or a failure the caller should see (an `isError` result). */
export type ToolOutcome<O> = { ok: true; value: O; text?: string } | { ok: false; message: string; value?: O };

export interface ToolSpec<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations?: ToolAnnotations;
  run(args: z.infer<I>, ctx: ToolContext): Promise<ToolOutcome<z.infer<O>>>;
}

/** Keeps each spec's own argument and result types while collecting specs in one list. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(spec: ToolSpec<I, O>): ToolSpec {
  return spec as unknown as ToolSpec;
}

/** Every zod problem as `path: message`, so the caller knows which field to fix. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((i) => {
      const path = i.path.map(String).join('.');
      const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
      return `${path || 'arguments'}: ${i.message}${keys}`;
    })
    .join('; ');
}

/**
 * A JSON-RPC InvalidParams error. Not McpError: its message already starts with "MCP error
 * -32602:", and the client adds that prefix again.
 */
class InvalidParamsError extends Error {
  readonly code = ErrorCode.InvalidParams;
}

function textResult(text: string, isError: boolean, structured?: unknown): CallToolResult {
  return {
    content: [{ type: 'text', text }],
    ...(structured !== undefined && { structuredContent: structured as Record<string, unknown> }),
    ...(isError && { isError: true }),
  };
}

/**
 * Registers the tools on `server` (listing, JSON Schemas) and answers `tools/call` itself, so that
 * protocol misuse is a protocol error: an unknown tool, or arguments that do not match the schema
 * (wrong type, missing or unknown field, over a size limit) are JSON-RPC InvalidParams errors
 * naming the field. The SDK's own handler would turn them into `isError` results. A tool that runs
 * and fails is an `isError` result; an unexpected exception is logged and reported the same way,
 * never thrown into the transport.
 */
export function installTools(server: McpServer, specs: ToolSpec[], log: Logger, context: (extra: ToolCallExtra) => ToolContext): void {
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const spec of specs) {
    server.registerTool(
      spec.name,
      { title: spec.title, description: spec.description, inputSchema: spec.input, outputSchema: spec.output, ...(spec.annotations && { annotations: spec.annotations }) },
      // Never called: the tools/call handler below replaces the SDK's.
      () => textResult('unreachable', true),
    );
  }
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name } = request.params;
    const spec = byName.get(name);
    if (!spec) throw new InvalidParamsError(`unknown tool "${String(name).slice(0, 100)}"; this server has: ${[...byName.keys()].join(', ')}`);
    const parsed = spec.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) throw new InvalidParamsError(`invalid arguments for ${name}: ${describeIssues(parsed.error)}`);
    let outcome: ToolOutcome<unknown>;
    const ctx = context(extra);
    try {
      outcome = await spec.run(parsed.data, ctx);
      await ctx.flush();
    } catch (err) {
      if (err instanceof MeshError && (err.code === 'USAGE' || err.code === 'INPUT_TOO_LARGE')) {
        throw new InvalidParamsError(`${name}: ${err.message}`);
      }
      if (err instanceof McpError) throw err;
      if (err instanceof MeshError) return textResult(err.message, true);
      log.error({ err, tool: name }, 'MCP tool failed unexpectedly');
      return textResult(`internal error in ${name}: ${(err as Error)?.message ?? String(err)}`, true);
    }
    if (!outcome.ok) {
      // A failed run still carries its record (the client validates it against the output schema).
      const structured = outcome.value !== undefined && spec.output.safeParse(outcome.value).success ? outcome.value : undefined;
      return textResult(outcome.message, true, structured);
    }
    const checked = spec.output.safeParse(outcome.value);
    if (!checked.success) {
      log.error({ tool: name, issue: describeIssues(checked.error) }, 'MCP tool result does not match its output schema');
      return textResult(`internal error in ${name}: its result did not match the output schema (${describeIssues(checked.error)})`, true);
    }
    return textResult(outcome.text ?? JSON.stringify(outcome.value, null, 2), false, outcome.value);
  });
}

/** The parts of the SDK's request `extra` the tools use. */
export interface ToolCallExtra {
  signal: AbortSignal;
  sessionId?: string;
  _meta?: { progressToken?: string | number };
  sendNotification: (n: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }) => Promise<void>;
}
