import { Transform, type Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ExecutionService } from '../executions/index.js';
import type { MeshNode } from '../node/mesh-node.js';
import { initializeProblem } from './http-guards.js';
import { createMcpServer } from './server.js';

type Id = string | number | null;
interface ErrorReply {
  jsonrpc: '2.0';
  id: Id;
  error: { code: number; message: string };
}

const reply = (id: Id, code: number, message: string): ErrorReply => ({ jsonrpc: '2.0', id, error: { code, message } });

const idOf = (m: unknown): Id => {
  const id = (m as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
};

/** The id of a line that is not JSON, when one can still be read from it (so the caller stops waiting). */
function guessId(line: string): Id {
  const m = /"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*[,}]/.exec(line);
  if (!m?.[1]) return null;
  try {
    return JSON.parse(m[1]) as string | number;
  } catch {
    return null;
  }
}

/**
 * What to do with one line of stdin: pass it to the SDK, or answer it here. The SDK's stdio
 * transport reports a line it cannot read to `onerror` only, so its sender would wait for a reply
 * until its timeout: a line that is not JSON gets a parse error (-32700), a batch (removed from
 * MCP in 2025-06-18) or something that is not a JSON-RPC message gets Invalid Request (-32600),
 * with the request's id whenever one can be read.
 */
export function screenLine(line: string): { pass: true } | { pass: false; replies: ErrorReply[] } {
  if (line.trim() === '') return { pass: false, replies: [] };
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch (err) {
    return { pass: false, replies: [reply(guessId(line), -32700, `Parse error: the line is not JSON (${(err as Error).message})`)] };
  }
  if (Array.isArray(message)) {
    const batch = 'Invalid Request: JSON-RPC batches are not supported (MCP removed them in 2025-06-18); send one message per line';
    const ids = message.map(idOf).filter((id) => id !== null);
    return { pass: false, replies: ids.length ? ids.map((id) => reply(id, -32600, batch)) : [reply(null, -32600, batch)] };
  }
  const parsed = JSONRPCMessageSchema.safeParse(message);
  if (parsed.success) {
    // The SDK would answer a malformed initialize with an internal error (-32603).
    const problem = initializeProblem(message);
    return problem ? { pass: false, replies: [reply(problem.id, -32602, problem.message)] } : { pass: true };
  }
  // A malformed reply to one of our requests has nobody to answer to.
  if ((message as { method?: unknown } | null)?.method === undefined && idOf(message) !== null) return { pass: false, replies: [] };
  return { pass: false, replies: [reply(idOf(message), -32600, `Invalid Request: ${messageProblem(message)}`)] };
}

/** Why a JSON value is not a JSON-RPC message, in the words of the field to fix. */
function messageProblem(message: unknown): string {
  if (typeof message !== 'object' || message === null) return `a JSON-RPC message is an object, not ${message === null ? 'null' : typeof message}`;
  const m = message as { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown };
  if (m.jsonrpc !== '2.0') return `"jsonrpc" must be "2.0", got ${JSON.stringify(m.jsonrpc) ?? 'nothing'}`;
  if (typeof m.method !== 'string') return '"method" must be a string';
  if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))) return '"params" must be an object';
  if (m.id !== undefined && idOf(m) === null) return '"id" must be a string or a number';
  return 'not a JSON-RPC 2.0 request or notification';
}

/** Passes the lines the SDK can read and answers the others on `out`. */
function lineScreen(out: Writable): Transform {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const take = (line: string): string => {
    const verdict = screenLine(line);
    if (verdict.pass) return `${line}\n`;
    for (const r of verdict.replies) out.write(`${JSON.stringify(r)}\n`);
    return '';
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      pending += decoder.write(chunk);
      let passed = '';
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        passed += take(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
      }
      done(null, passed || undefined);
    },
    flush(done) {
      const rest = pending + decoder.end();
      pending = '';
      done(null, rest.trim() ? take(rest) || undefined : undefined);
    },
  });
}

/**
 * Serves the MCP tools over stdin/stdout (desktop MCP clients). stdout carries only the protocol:
 * logs go to stderr. Resolves when the client closes stdin (or the transport closes).
 */
export async function serveMcpStdio(node: MeshNode, executions: ExecutionService): Promise<void> {
  const server = createMcpServer(node, executions, 'stdio');
  const screened = process.stdin.pipe(lineScreen(process.stdout));
  const transport = new StdioServerTransport(screened, process.stdout);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  await server.connect(transport);
  node.log.info({ node: node.name }, 'MCP over stdio');
  await closed;
  await server.close().catch(() => undefined);
  // Nothing reads stdin any more: let it go, so that it holds no handle while the node stops.
  process.stdin.unpipe(screened);
  process.stdin.destroy();
}
