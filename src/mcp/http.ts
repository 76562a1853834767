import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ExecutionService } from '../executions/index.js';
import type { MeshNode } from '../node/mesh-node.js';
import { bearerCheck, exposureWarning, hostCheck, initializeProblem, jsonRpcError, originCheck, readBody } from './http-guards.js';
import { createMcpServer } from './server.js';
import { SessionTransport } from './session-transport.js';

export { exposureWarning, isLoopback } from './http-guards.js';

interface Session {
  transport: SessionTransport;
  server: McpServer;
  /** Who opened it (the remote address): the per-client cap counts these. */
  client: string;
  /** Last request or end of an exchange: the least recently used idle session goes first. */
  lastSeen: number;
  /** Open HTTP exchanges (a waiting tool call, the SSE stream): a session in use is never idle. */
  open: number;
}

export interface McpHttpOptions {
  /** Sessions idle this long are closed (default 30 min). */
  idleMs?: number;
  /** At most this many open sessions; the least recently used idle one makes room (default 1000). */
  maxSessions?: number;
  /**
   * At most this many sessions per client address (default 100): a client that opens more loses
   * its own least recently used idle session, never someone else's.
   */
  maxSessionsPerClient?: number;
}

export interface McpHttpEndpoint {
  /** http://HOST:PORT/mcp */
  readonly url: string;
  /** Open sessions. */
  readonly sessions: number;
  close(): Promise<void>;
}

const requestId = (m: unknown): string | number | null => {
  const id = (m as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
};

/**
 * Serves MCP over Streamable HTTP at `/mcp` on the node's HTTP port, with sessions (one McpServer
 * per session, all sharing the node's execution service). With a token, every request needs
 * `Authorization: Bearer <token>`; bound to loopback, the Host header must be a loopback name; a
 * browser's Origin must be allowed (DNS-rebinding protection, as the transport specification asks).
 */
export function attachMcpHttp(node: MeshNode, executions: ExecutionService, opts: McpHttpOptions = {}): McpHttpEndpoint {
  const { host, token } = node.options.http;
  const log = node.log.child({ component: 'mcp-http' });
  const sessions = new Map<string, Session>();
  const idleMs = opts.idleMs ?? 30 * 60_000;
  const maxSessions = opts.maxSessions ?? 1_000;
  const maxPerClient = opts.maxSessionsPerClient ?? 100;
  // Room for a YAML and an input each at the limit, JSON-escaped, plus the envelope.
  const maxBodyBytes = 3 * node.options.limits.maxInputBytes + 256 * 1024;
  const authorized = bearerCheck(token);
  const hostAllowed = hostCheck(host);
  const originAllowed = originCheck(host, node.options.http.origins ?? []);

  const warning = exposureWarning(host, token, `${node.http.url}/mcp`);
  if (warning) {
    log.warn(warning);
    // Loud on purpose: also when logs are filtered or shipped elsewhere.
    process.stderr.write(`\n!!! WARNING: ${warning}\n\n`);
  }

  /** The least recently used session without an open exchange, among `candidates`. */
  const leastRecentlyUsedIdle = (candidates: Iterable<[string, Session]>): string | undefined => {
    let pick: [string, Session] | undefined;
    for (const entry of candidates) if (entry[1].open === 0 && (!pick || entry[1].lastSeen < pick[1].lastSeen)) pick = entry;
    return pick?.[0];
  };

  /** Makes room for one more session from `client`; the refusal to send when it cannot. */
  const makeRoom = async (client: string): Promise<string | undefined> => {
    const mine = [...sessions].filter(([, s]) => s.client === client);
    if (mine.length >= maxPerClient) {
      const victim = leastRecentlyUsedIdle(mine);
      if (!victim) return `Too many sessions: ${client} already holds ${mine.length}, all in use (at most ${maxPerClient} per client); close one (DELETE) first`;
      log.info({ client, session: victim }, 'per-client session cap: closing that client\'s least recently used idle session');
      await closeSession(victim);
    }
    if (sessions.size >= maxSessions) {
      const victim = leastRecentlyUsedIdle(sessions);
      if (!victim) return `Too many sessions: all ${sessions.size} are in use; try again later`;
      log.info({ session: victim }, 'session cap: closing the least recently used idle session');
      await closeSession(victim);
    }
    return undefined;
  };

  const open = async (client: string): Promise<Session> => {
    const server = createMcpServer(node, executions, 'http', `mcp:http ${client}`);
    const session: Session = { server, client, lastSeen: Date.now(), open: 0, transport: undefined as unknown as SessionTransport };
    const transport = new SessionTransport(
      new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, session),
        maxRequestBodySize: maxBodyBytes,
      }),
    );
    session.transport = transport;
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id) sessions.delete(id);
    };
    transport.onerror = (err) => log.debug({ err: err.message }, 'MCP transport error');
    await server.connect(transport);
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

  /** A POST's body as JSON; undefined when it was answered instead (too large, not JSON). */
  async function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const body = await readBody(req, res, maxBodyBytes);
    if (body === undefined) return undefined;
    try {
      return JSON.parse(body) as unknown;
    } catch (err) {
      jsonRpcError(res, 400, `Parse error: the body is not JSON (${(err as Error).message})`, { code: -32700 });
      return undefined;
    }
  }

  /** A POST without a session: only a well-formed initialize opens one. */
  async function initialize(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const message = await readJsonBody(req, res);
    if (message === undefined) return;
    const problem = initializeProblem(message);
    if (problem) {
      jsonRpcError(res, 400, problem.message, { code: -32602, id: problem.id });
      return;
    }
    const messages = Array.isArray(message) ? (message as unknown[]) : [message];
    if (!messages.some((m) => (m as { method?: unknown } | null)?.method === 'initialize')) {
      // No session is opened (nor one evicted) for this: a client probing (`server/discover`) learns it talks to a 2025-era server.
      jsonRpcError(res, 400, 'Bad Request: Server not initialized: without an Mcp-Session-Id header, only initialize is accepted', { id: requestId(messages[0]) });
      return;
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    const refused = await makeRoom(client);
    if (refused) {
      jsonRpcError(res, 503, refused, { headers: { 'retry-after': '5' } });
      return;
    }
    const session = await open(client);
    track(session, res);
    await session.transport.handleRequest(req, res, message);
    if (!session.transport.sessionId) await session.server.close().catch(() => undefined);
  }

  node.http.route('/mcp', async (req, res) => {
    if (!authorized(req)) {
      jsonRpcError(res, 401, 'Unauthorized: this node requires Authorization: Bearer <token> (WFMESH_MCP_TOKEN)', { headers: { 'www-authenticate': 'Bearer realm="wfmesh"' } });
      return;
    }
    if (!hostAllowed(req)) {
      jsonRpcError(res, 403, `Forbidden: Host "${String(req.headers.host).slice(0, 100)}" is not a loopback name, and this node is bound to ${host}`);
      return;
    }
    if (!originAllowed(req)) {
      jsonRpcError(res, 403, `Forbidden: Origin "${String(req.headers.origin).slice(0, 200)}" is not allowed here; add it to mcp.origins (or WFMESH_MCP_ORIGINS) to let that page call this node`);
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
      if (req.method !== 'POST') {
        await session.transport.handleRequest(req, res);
        return;
      }
      // Read here, not by the transport: how a request is answered depends on what it is.
      const message = await readJsonBody(req, res);
      if (message !== undefined) await session.transport.handleRequest(req, res, message);
      return;
    }
    if (req.method !== 'POST') {
      jsonRpcError(res, 400, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
      return;
    }
    await initialize(req, res);
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
