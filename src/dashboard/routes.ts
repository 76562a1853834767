import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExecutionStatusSchema } from '../protocol/execution.js';
import { DASHBOARD_ASSETS } from './assets.generated.js';
import { dashboardGate, sameOriginJson } from './auth.js';
import { executionGraph } from './graph.js';
import type { LiveHub } from './live.js';
import type { DashboardOptions } from './types.js';

/** Everything but the page itself lives under this prefix (the page is at `/`). */
export const DASHBOARD_PREFIX = '/dashboard';
const EXECUTION_ID = /^[A-Za-z0-9_-]{1,128}$/;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}

function asset(req: IncomingMessage, res: ServerResponse, type: string, body: string): void {
  // The hash changes with every build: a page never runs yesterday's script against today's API.
  const etag = `"${DASHBOARD_ASSETS.hash}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { etag }).end();
    return;
  }
  res.writeHead(200, {
    'content-type': type,
    etag,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    // Everything the page needs is its own: no inline script, no other origin.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** `/`: the page. */
export function pageHandler(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'GET only' }, { allow: 'GET, HEAD' });
  asset(req, res, 'text/html; charset=utf-8', DASHBOARD_ASSETS.html);
}

/** `/dashboard/...`: the script, the style sheet, and the data (behind the gate). */
export function dashboardHandler(opts: DashboardOptions, hub: LiveHub): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const gate = dashboardGate(opts.host, opts.token);
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.slice(DASHBOARD_PREFIX.length);
    if (path === '/app.js') return asset(req, res, 'text/javascript; charset=utf-8', DASHBOARD_ASSETS.js);
    if (path === '/app.css') return asset(req, res, 'text/css; charset=utf-8', DASHBOARD_ASSETS.css);
    if (!path.startsWith('/api/')) return json(res, 404, { error: `no route for ${url.pathname}` });

    const verdict = gate(req);
    if (!verdict.ok) {
      // No www-authenticate: the browser's own dialog must not pop up over the page's sign-in.
      return json(res, verdict.status, { error: verdict.message });
    }
    const parts = path.slice('/api/'.length).split('/');
    if (req.method === 'GET' && path === '/api/events') return hub.open(res);
    if (req.method === 'GET' && path === '/api/mesh') return json(res, 200, { node: opts.nodeName, nodes: opts.peers.list() });
    if (parts[0] !== 'executions') return json(res, 404, { error: `no route for ${url.pathname}` });

    const id = parts[1];
    if (id === undefined || id === '') {
      if (req.method !== 'GET') return json(res, 405, { error: 'GET only' }, { allow: 'GET' });
      const status = url.searchParams.get('status') || undefined;
      const parsedStatus = status === undefined ? undefined : ExecutionStatusSchema.safeParse(status);
      if (parsedStatus && !parsedStatus.success) return json(res, 400, { error: `status "${status}" is not one of ${ExecutionStatusSchema.options.join(', ')}` });
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? 100 : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) return json(res, 400, { error: 'limit must be an integer from 1 to 500' });
      const cursor = url.searchParams.get('cursor') || undefined;
      const page = await opts.executions.list({ limit, ...(parsedStatus?.data && { status: parsedStatus.data }), ...(cursor && { cursor }) });
      return json(res, 200, page);
    }
    if (!EXECUTION_ID.test(id)) return json(res, 400, { error: `execution id "${id.slice(0, 40)}" is not valid (letters, digits, _ and -)` });
    if (parts.length === 2) {
      if (req.method !== 'GET') return json(res, 405, { error: 'GET only' }, { allow: 'GET' });
      const record = await opts.executions.get(id);
      if (!record) return json(res, 404, { error: `no execution ${id}` });
      const text = await opts.executions.workflowText?.(record).catch(() => undefined);
      return json(res, 200, { record, graph: executionGraph(record, text) });
    }
    if (parts.length === 3 && parts[2] === 'cancel') {
      if (req.method !== 'POST') return json(res, 405, { error: 'POST only' }, { allow: 'POST' });
      if (!sameOriginJson(req)) return json(res, 403, { error: 'cancel must come from the dashboard itself (same origin, content-type application/json)' });
      req.resume();
      const result = await opts.executions.cancel(id);
      opts.log.info({ execution_id: id, status: result.status }, 'execution cancelled from the dashboard');
      return json(res, 200, result);
    }
    return json(res, 404, { error: `no route for ${url.pathname}` });
  };
}
