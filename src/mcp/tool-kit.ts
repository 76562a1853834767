import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, ErrorCode, type CallToolRequest, type CallToolResult, type EmptyResultSchema, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
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
  /** Ends the progress heartbeat; resolves once every notification is out (the result comes after them). */
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
 * Registers the tools on `server`. The SDK checks the arguments against each tool's schema and,
 * as the 2025-11-25 revision asks (SEP-1303), answers a mismatch with an `isError` result naming
 * the field, so that a model can correct its call; checks only the tool itself can make (`yaml`
 * and `workflow_name` both or neither, a size over the limit) answer the same way. A tool that
 * runs and fails is an `isError` result; an unexpected exception is logged and reported the same
 * way, never thrown into the transport. Only an unknown tool is a protocol error (InvalidParams).
 */
export function installTools(server: McpServer, specs: ToolSpec[], log: Logger, context: (extra: ToolCallExtra) => ToolContext): void {
  refusingUnknownTools(server, specs.map((s) => s.name), () => {
    for (const spec of specs) {
      server.registerTool(
        spec.name,
        { title: spec.title, description: spec.description, inputSchema: spec.input, outputSchema: spec.output, ...(spec.annotations && { annotations: spec.annotations }) },
        (args: unknown, extra: ToolCallExtra) => runTool(spec, args, context(extra), log),
      );
    }
  });
}

async function runTool(spec: ToolSpec, args: unknown, ctx: ToolContext, log: Logger): Promise<CallToolResult> {
  const { name } = spec;
  let outcome: ToolOutcome<unknown>;
  try {
    outcome = await spec.run(args as never, ctx);
  } catch (err) {
    await ctx.flush();
    if (err instanceof MeshError && (err.code === 'USAGE' || err.code === 'INPUT_TOO_LARGE')) {
      return textResult(`Input validation error: invalid arguments for tool ${name}: ${err.message}`, true);
    }
    if (err instanceof MeshError) return textResult(err.message, true);
    log.error({ err, tool: name }, 'MCP tool failed unexpectedly');
    return textResult(`internal error in ${name}: ${(err as Error)?.message ?? String(err)}`, true);
  }
  await ctx.flush();
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
}

/**
 * The SDK answers a call to an unknown tool with an `isError` result; the specification lists it
 * among protocol errors, and a client that mistyped a name should learn which tools exist. The
 * SDK's `tools/call` handler is kept (it validates arguments and results); it is wrapped when the
 * SDK installs it, through the public setRequestHandler, before the first tool is registered.
 */
function refusingUnknownTools(server: McpServer, names: string[], register: () => void): void {
  const known = new Set(names);
  const inner = server.server;
  type Handler = (req: CallToolRequest, extra: unknown) => unknown;
  const install = inner.setRequestHandler.bind(inner) as (schema: unknown, handler: Handler) => void;
  const wrapped = (schema: unknown, handler: Handler): void => {
    if (schema !== CallToolRequestSchema) return install(schema, handler);
    install(schema, (req, extra) => {
      const { name } = req.params;
      if (!known.has(name)) throw new InvalidParamsError(`unknown tool "${String(name).slice(0, 100)}"; this server has: ${names.join(', ')}`);
      return handler(req, extra);
    });
  };
  Object.defineProperty(inner, 'setRequestHandler', { value: wrapped, configurable: true, writable: true });
  try {
    register(); // the first registerTool makes the SDK install its tools/call handler, through `wrapped`
  } finally {
    delete (inner as { setRequestHandler?: unknown }).setRequestHandler;
  }
}

/** The parts of the SDK's request `extra` the tools use. */
export interface ToolCallExtra {
  signal: AbortSignal;
  requestId: string | number;
  sessionId?: string;
  _meta?: { progressToken?: string | number };
  sendNotification: (n: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }) => Promise<void>;
  sendRequest: (r: { method: 'ping' }, schema: typeof EmptyResultSchema, options?: { timeout?: number }) => Promise<unknown>;
}
