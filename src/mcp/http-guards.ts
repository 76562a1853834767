/**
 * What /mcp checks before a request reaches a session: the bearer token, the Host header (bound to
 * loopback) and the Origin header (the Streamable HTTP transport's DNS-rebinding rule), and the
 * shape of an `initialize` that would open a session.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InitializeRequestSchema, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
export const isLoopback = (host: string): boolean => LOOPBACK_HOSTS.has(host) || host.startsWith('127.');

/** The warning for an MCP endpoint others can reach without a token, or undefined. */
export function exposureWarning(host: string, token: string | undefined, url: string): string | undefined {
  if (token || isLoopback(host)) return undefined;
  return `MCP at ${url} is bound to ${host}, reachable from other machines, and has NO TOKEN: anyone who can reach it can run workflows on this mesh. Set WFMESH_MCP_TOKEN (or mcp.token in the config) or bind 127.0.0.1.`;
}

export function jsonRpcError(res: ServerResponse, status: number, message: string, opts: { code?: number; id?: string | number | null; headers?: Record<string, string> } = {}): void {
  res
    .writeHead(status, { 'content-type': 'application/json', ...opts.headers })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code: opts.code ?? -32000, message }, id: opts.id ?? null }));
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** `Authorization: Bearer <token>`, compared in constant time; always true without a token. */
export function bearerCheck(token: string | undefined): (req: IncomingMessage) => boolean {
  const expected = token ? digest(`Bearer ${token}`) : undefined;
  return (req) => !expected || timingSafeEqual(digest(String(req.headers.authorization ?? '')), expected);
}

/** Bound to loopback, the Host header must be a loopback name (a rebound DNS name is not). */
export function hostCheck(bindHost: string): (req: IncomingMessage) => boolean {
  if (!isLoopback(bindHost)) return () => true;
  return (req) => {
    try {
      return LOOPBACK_HOSTS.has(new URL(`http://${req.headers.host ?? ''}`).hostname);
    } catch {
      return false;
    }
  };
}

/** `https://App.Example.com:443/` → `https://app.example.com`; undefined when it is no origin. */
export function normalizeOrigin(origin: string): string | undefined {
  if (origin === '*') return '*';
  try {
    const u = new URL(origin);
    return u.origin === 'null' ? undefined : u.origin;
  } catch {
    return undefined;
  }
}

/**
 * The Origin rule: a request without Origin (curl, the SDKs outside a browser) passes; a browser
 * request passes when its origin is on the allow-list (`mcp.origins`, `WFMESH_MCP_ORIGINS`; `*`
 * allows any), or is a loopback origin while the node is bound to loopback. Anything else is
 * refused, `null` (sandboxed frames, files) included.
 */
export function originCheck(bindHost: string, allowed: readonly string[]): (req: IncomingMessage) => boolean {
  const list = new Set(allowed.map(normalizeOrigin).filter((o): o is string => o !== undefined));
  const loopbackOnly = isLoopback(bindHost);
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (list.has('*')) return true;
    const normalized = normalizeOrigin(origin);
    if (!normalized) return false;
    if (list.has(normalized)) return true;
    if (!loopbackOnly) return false;
    const { protocol, hostname } = new URL(normalized);
    return (protocol === 'http:' || protocol === 'https:') && (LOOPBACK_HOSTS.has(hostname) || hostname.startsWith('127.'));
  };
}

/**
 * Reads a request body up to `limit` bytes; undefined (and the request answered 413) past it. A
 * declared Content-Length over the limit is refused before reading anything. The rest of a refused
 * body is read and dropped, not cut off: a client still sending gets the 413, not a reset.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<string | undefined> {
  const refuse = (): undefined => {
    jsonRpcError(res, 413, `Payload Too Large: the request body must not exceed ${limit} bytes`);
    req.resume();
    return undefined;
  };
  if (Number(req.headers['content-length']) > limit) return Promise.resolve(refuse());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd);
      resolve(refuse());
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

/**
 * What is wrong with an `initialize` request, or undefined when nothing is (or it is not one).
 * The transport would answer a malformed one with "Server not initialized", which sends a client
 * looking in the wrong place.
 */
export function initializeProblem(message: unknown): { id: string | number | null; message: string } | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const m = message as { method?: unknown; id?: unknown };
  if (m.method !== 'initialize') return undefined;
  const parsed = InitializeRequestSchema.safeParse(message);
  if (parsed.success) return undefined;
  const fields = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'request'}: ${i.message}`).join('; ');
  const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : null;
  return {
    id,
    message: `Invalid initialize request: ${fields}. It needs params.protocolVersion (the MCP revision the client speaks, e.g. "${LATEST_PROTOCOL_VERSION}"), params.capabilities and params.clientInfo {name, version}`,
  };
}
