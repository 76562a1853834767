import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ExecutionService } from '../executions/index.js';
import type { MeshNode } from '../node/mesh-node.js';
import { createMcpServer } from './server.js';

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
  /** Open HTTP exchanges (a waiting tool call, the SSE stream): a session in use is never idle. */
  open: number;
}

export interface McpHttpOptions {
  /** Sessions idle this long are closed (default 30 min). */
  idleMs?: number;
  /** At most this many open sessions; the longest idle one makes room (default 1000). */
  maxSessions?: number;
}

export interface McpHttpEndpoint {
  /** http://HOST:PORT/mcp */
  readonly url: string;
  /** Open sessions. */
  readonly sessions: number;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
export const isLoopback = (host: string): boolean => LOOPBACK_HOSTS.has(host) || host.startsWith('127.');

/** The warning for an MCP endpoint others can reach without a token, or undefined. */
export function exposureWarning(host: string, token: string | undefined, url: string): string | undefined {
  if (token || isLoopback(host)) return undefined;
  return `MCP at ${url} is bound to ${host}, reachable from other machines, and has NO TOKEN: anyone who can reach it can run workflows on this mesh. Set WFMESH_MCP_TOKEN (or mcp.token in the config) or bind 127.0.0.1.`;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function jsonRpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

/**
 * Serves MCP over Streamable HTTP at `/mcp` on the node's HTTP port, with sessions (one McpServer
 * per session, all sharing the node's execution service). With a token, every request needs
 * `Authorization: Bearer <token>`; bound to loopback, the Host header must be a loopback name
 * (DNS-rebinding protection for browsers on the same machine).
 */
export function attachMcpHttp(node: MeshNode, executions: ExecutionService, opts: McpHttpOptions = {}): McpHttpEndpoint {
  const { host, token } = node.options.http;
  const log = node.log.child({ component: 'mcp-http' });
  const sessions = new Map<string, Session>();
  const idleMs = opts.idleMs ?? 30 * 60_000;
  const maxSessions = opts.maxSessions ?? 1_000;
  // Room for a YAML and an input each at the limit, JSON-escaped, plus the envelope.
  const maxBodyBytes = 3 * node.options.limits.maxInputBytes + 256 * 1024;
  const expected = token ? digest(`Bearer ${token}`) : undefined;
  const loopbackOnly = isLoopback(host);

  const warning = exposureWarning(host, token, `${node.http.url}/mcp`);
  if (warning) {
    log.warn(warning);
    // Loud on purpose: also when logs are filtered or shipped elsewhere.
    process.stderr.write(`\n!!! WARNING: ${warning}\n\n`);
  }

  const authorized = (req: IncomingMessage): boolean => {
    if (!expected) return true;
    const got = digest(String(req.headers.authorization ?? ''));
    return timingSafeEqual(got, expected);
  };

  const hostAllowed = (req: IncomingMessage): boolean => {
    if (!loopbackOnly) return true;
    try {
      return LOOPBACK_HOSTS.has(new URL(`http://${req.headers.host ?? ''}`).hostname);
    } catch {
      return false;
    }
  };

  const open = async (address: string): Promise<Session> => {
    if (sessions.size >= maxSessions) {
      const oldest = [...sessions.entries()].sort((a, b) => a[1].open - b[1].open || a[1].lastSeen - b[1].lastSeen)[0];
      if (oldest) await closeSession(oldest[0]);
    }
    const server = createMcpServer(node, executions, 'http', `mcp:http ${address}`);
    const session: Session = { server, lastSeen: Date.now(), open: 0, transport: undefined as unknown as StreamableHTTPServerTransport };
    session.transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, session),
      maxRequestBodySize: maxBodyBytes,
    });
    session.transport.onclose = () => {
      const id = session.transport.sessionId;
      if (id) sessions.delete(id);
    };
    session.transport.onerror = (err) => log.debug({ err: err.message }, 'MCP transport error');
    await server.connect(session.transport);
    return session;
  };

  function track(session: Session, res: ServerResponse): void {
    session.open++;
    session.lastSeen = Date.now();
    res.once('close', () => {
      session.open--;
      session.lastSeen = Date.now();
    });
  }

  async function closeSession(id: string): Promise<void> {
    const s = sessions.get(id);
    sessions.delete(id);
    await s?.server.close().catch(() => undefined);
  }

  node.http.route('/mcp', async (req, res) => {
    if (!authorized(req)) {
      jsonRpcError(res, 401, 'Unauthorized: this node requires Authorization: Bearer <token> (WFMESH_MCP_TOKEN)', { 'www-authenticate': 'Bearer realm="wfmesh"' });
      return;
    }
    if (!hostAllowed(req)) {
      jsonRpcError(res, 403, `Forbidden: Host "${String(req.headers.host).slice(0, 100)}" is not a loopback name, and this node is bound to ${host}`);
      return;
    }
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const session = sessions.get(id);
      if (!session) {
        jsonRpcError(res, 404, `Session not found: ${id.slice(0, 64)} (it ended or the node restarted); initialize a new one`);
        return;
      }
      track(session, res);
      await session.transport.handleRequest(req, res);
      return;
    }
    if (req.method !== 'POST') {
      jsonRpcError(res, 400, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
      return;
    }
    // No session yet: only an initialize request opens one; the transport answers anything else.
    const session = await open(req.socket.remoteAddress ?? 'unknown');
    track(session, res);
    await session.transport.handleRequest(req, res);
    if (!session.transport.sessionId) await session.server.close().catch(() => undefined);
  });

  const reaper = setInterval(() => {
    const cutoff = Date.now() - idleMs;
    for (const [id, s] of sessions) if (s.open === 0 && s.lastSeen < cutoff) void closeSession(id);
  }, Math.min(idleMs, 60_000));
  reaper.unref();

  const endpoint: McpHttpEndpoint = {
    url: `${node.http.url}/mcp`,
    get sessions() {
      return sessions.size;
    },
    close: async () => {
      clearInterval(reaper);
      await Promise.allSettled([...sessions.keys()].map((sid) => closeSession(sid)));
    },
  };
  node.onStop(async () => {
    // Executions waited on by sessions end as "node stopped", not as cancelled by their callers.
    await executions.stop();
    await endpoint.close();
  });
  log.info({ url: endpoint.url, auth: token ? 'bearer token' : 'none' }, 'MCP over Streamable HTTP');
  return endpoint;
}
