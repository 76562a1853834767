import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const isLoopback = (host: string): boolean => LOOPBACK_NAMES.has(host) || host.startsWith('127.');
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

/**
 * The gate of the data endpoints: the same bearer token as /mcp when one is set, and, on a
 * loopback-bound node, a loopback Host header (so a web page elsewhere cannot reach it through
 * DNS rebinding). The page itself and its script carry no data and need neither.
 */
export function dashboardGate(host: string, token: string | undefined): (req: IncomingMessage) => Verdict {
  const expected = token ? digest(`Bearer ${token}`) : undefined;
  const loopbackOnly = isLoopback(host);
  return (req) => {
    if (expected && !timingSafeEqual(digest(String(req.headers.authorization ?? '')), expected)) {
      return { ok: false, status: 401, message: 'this node requires Authorization: Bearer <token> (WFMESH_MCP_TOKEN)' };
    }
    if (loopbackOnly) {
      let name = '';
      try {
        name = new URL(`http://${req.headers.host ?? ''}`).hostname;
      } catch {
        /* refused below */
      }
      if (!LOOPBACK_NAMES.has(name)) return { ok: false, status: 403, message: `Host "${String(req.headers.host).slice(0, 100)}" is not a loopback name, and this node is bound to ${host}` };
    }
    return { ok: true };
  };
}

/**
 * A state-changing request must come from the page itself: JSON (a cross-site form cannot send
 * it without a CORS preflight, which this server never grants) and, when the browser says where
 * it comes from, the same origin.
 */
export function sameOriginJson(req: IncomingMessage): boolean {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return false;
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
