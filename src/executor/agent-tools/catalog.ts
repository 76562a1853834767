/**
 * What a tool-calling agent offers its model: one function per tool method (built-in tools) or
 * per tool its MCP server lists (`mcpremote`), with a JSON Schema derived from the same zod schema
 * that checks the arguments, so that what the model is told and what is enforced cannot drift.
 */
import { z } from 'zod';
import { StepFailure } from '../../protocol/errors.js';
import type { AgentToolSpec } from '../../protocol/step.js';
import { parseArgs } from '../failures.js';
import type { ToolMethodSchema } from '../types.js';

/** OpenAI function names: letters, digits, `_` and `-`, at most 64. */
const NAME_LIMIT = 64;

export interface CatalogEntry {
  /** The function name the model calls: `<tool id>__<method>`. */
  readonly name: string;
  readonly spec: AgentToolSpec;
  /** The tool method a call runs (`call` for a remote MCP tool). */
  readonly method: string;
  /** For `mcpremote`: the tool's name on its server. */
  readonly remoteTool?: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  /** Checks (and normalises) the model's arguments; throws StepFailure `invalid_args`. */
  check(args: unknown): unknown;
}

/** A remote server's tool, as `mcpremote.list_tools` returns it. */
export interface RemoteTool {
  readonly name: string;
  readonly description?: string;
  readonly inputSchema: Record<string, unknown>;
}

export class ToolCatalog {
  private readonly byName = new Map<string, CatalogEntry>();

  /** The `tools` parameter of a chat-completions request. */
  functions(): { type: 'function'; function: { name: string; description: string; parameters: Record<string, unknown> } }[] {
    return [...this.byName.values()].map((e) => ({ type: 'function', function: { name: e.name, description: e.description, parameters: e.parameters } }));
  }

  get(name: string): CatalogEntry | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** The built-in methods of `spec` (all, or those its `methods` keeps). */
  addBuiltin(spec: AgentToolSpec, schemas: Readonly<Record<string, ToolMethodSchema>>): void {
    for (const [method, schema] of Object.entries(schemas)) {
      if (spec.methods && !spec.methods.includes(method)) continue;
      const name = this.uniqueName(spec.id, method);
      const where = `${spec.id}.${method}`;
      this.byName.set(name, {
        name,
        spec,
        method,
        description: describe(spec, `${spec.type}.${method}: ${schema.description}`),
        parameters: jsonSchemaOf(schema.args),
        check: (args) => parseArgs(schema.args, args, where),
      });
    }
  }

  /** The tools a remote MCP server listed, namespaced by the tool's id. */
  addRemote(spec: AgentToolSpec, tools: readonly RemoteTool[]): void {
    for (const tool of tools) {
      if (spec.methods && !spec.methods.includes(tool.name)) continue;
      const name = this.uniqueName(spec.id, tool.name);
      const validator = remoteValidator(tool.inputSchema);
      const where = `${spec.id}.${tool.name}`;
      this.byName.set(name, {
        name,
        spec,
        method: 'call',
        remoteTool: tool.name,
        description: describe(spec, `${tool.name} on the MCP server ${String(spec.settings?.mcp_url ?? '')}${tool.description ? `: ${tool.description}` : ''}`),
        parameters: objectSchema(tool.inputSchema),
        // The server checks too; a schema zod cannot read is left to it.
        check: (args) => (validator ? parseArgs(validator, args, where) : (args ?? {})),
      });
    }
  }

  private uniqueName(id: string, method: string): string {
    const base = `${id}__${method}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, NAME_LIMIT);
    let name = base;
    for (let n = 2; this.byName.has(name); n++) name = `${base.slice(0, NAME_LIMIT - String(n).length - 1)}_${n}`;
    return name;
  }
}

function describe(spec: AgentToolSpec, what: string): string {
  return (spec.description ? `${what}. ${spec.description}` : what).slice(0, 1_000);
}

/** The input side of a zod schema (defaults optional) as a JSON Schema object. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return objectSchema(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);
}

/** Function parameters must be an object schema: a union (`pick`'s two forms) gets `type: object`. */
function objectSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _drop, ...rest } = schema;
  return rest.type === undefined ? { type: 'object', ...rest } : rest;
}

function remoteValidator(inputSchema: Record<string, unknown>): z.ZodType | undefined {
  try {
    return z.fromJSONSchema(inputSchema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    return undefined;
  }
}

/** A tool whose calls could never be placed or listed (no schema, no dispatcher): the step fails. */
export function catalogFailure(agentId: string, message: string): StepFailure {
  return new StepFailure('invalid_args', `agent "${agentId}": ${message}`, false);
}
