/**
 * The dashboard every node serves at `/` on its HTTP port: the mesh by region, the executions,
 * and per execution its step graph and a timeline, updated over server-sent events.
 * Assets are embedded at build time (assets.generated.ts, made by scripts/build-dashboard.mjs).
 */
import { LiveHub } from './live.js';
import { dashboardHandler, DASHBOARD_PREFIX, pageHandler } from './routes.js';
import type { DashboardOptions } from './types.js';

export type { DashboardExecutions, DashboardExecutionPage, DashboardOptions, DashboardPeers } from './types.js';
export { executionGraph, type ExecutionGraph, type GraphEdge } from './graph.js';
export { DASHBOARD_PREFIX } from './routes.js';

export interface Dashboard {
  /** Open live streams (pages). */
  readonly streams: number;
  /** Ends the open streams (the node is stopping). */
  close(): void;
}

/** Mounts the dashboard on the node's HTTP server. */
export function attachDashboard(opts: DashboardOptions): Dashboard {
  const hub = new LiveHub(opts);
  opts.http.route('/', pageHandler);
  opts.http.route(DASHBOARD_PREFIX, dashboardHandler(opts, hub));
  return {
    get streams() {
      return hub.size;
    },
    close: () => hub.close(),
  };
}
