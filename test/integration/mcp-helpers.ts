/** Shared by the MCP integration tests: real SDK clients, workflows that exercise the mesh. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { MeshNode } from '../../src/node/index.js';
import { waitFor } from '../harness/processes.js';

/** A connected SDK client over Streamable HTTP. */
export async function connectHttp(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'wfmesh-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
  await client.connect(transport);
  return client;
}

export function mcpUrl(node: MeshNode): string {
  return `${node.http.url}/mcp`;
}

/** Calls a tool and returns its result (the client already checked structuredContent against the schema). */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}, options: Parameters<Client['callTool']>[2] = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, options)) as CallToolResult;
}

export function structured<T = Record<string, unknown>>(result: CallToolResult): T {
  if (!result.structuredContent) throw new Error(`no structuredContent: ${JSON.stringify(result.content).slice(0, 500)}`);
  return result.structuredContent as T;
}

export function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** Ten echo steps, each reading the previous one's output. */
export const ECHO10 = `workflows:
  main:
${Array.from({ length: 10 }, (_, i) => `    - {id: e${i + 1}, tool: echo, args: {n: ${i + 1}, prev: "${i ? `\${e${i}.output.n}` : '${user_input}'}"}}`).join('\n')}
`;

/** The same workflow with step `id` pinned to `node` (requires.node): placement the test can check. */
export function pinStep(yaml: string, id: string, node: string): string {
  const pinned = yaml.replace(new RegExp(`\\{id: ${id}, (.*)\\}$`, 'm'), `{id: ${id}, $1, requires: {node: ${node}}}`);
  if (pinned === yaml) throw new Error(`no step ${id} to pin`);
  return pinned;
}

/** One echo step, then a sleep of `ms` (a long execution to cancel), then an echo. */
export function sleepWorkflow(ms: number): string {
  return `workflows:
  main:
    - {id: first, tool: echo, args: {text: "\${user_input}"}}
    - {id: nap, tool: sleep, args: {ms: ${ms}}}
    - {id: last, tool: echo, args: {done: true}}
`;
}

/** Fails at step `boom`: a transform on something that is not JSON. */
export const FAILING = `workflows:
  main:
    - {id: ok, tool: echo, args: {text: fine}}
    - {id: boom, tool: transform, method: json_parse, args: {text: "not json {"}}
`;

export interface ExecutionView {
  execution_id: string;
  status: string;
  coordinator: string;
  requested_by?: string;
  output?: unknown;
  error?: { step?: string; type: string; message: string };
  steps: { id: string; status: string; node?: string; attempts: number; started_at?: string; ended_at?: string }[];
}

/** Polls `check` until it returns something truthy (or throws after `ms`). */
export function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  return waitFor(what, async () => (await check()) || undefined, ms);
}
