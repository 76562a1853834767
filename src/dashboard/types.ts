import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { PeerEvent } from '../mesh/registry.js';
import type { Advertisement } from '../protocol/advert.js';
import type { ExecutionRecord, ExecutionStatus } from '../protocol/execution.js';

/** A page of execution records, newest first. */
export interface DashboardExecutionPage {
  executions: ExecutionRecord[];
  next_cursor?: string;
}

/**
 * What the dashboard needs from the node's execution service. Narrow on purpose: the service
 * lives elsewhere and changes; the composition root adapts it to this.
 */
export interface DashboardExecutions {
  list(query: { status?: ExecutionStatus; limit?: number; cursor?: string }): Promise<DashboardExecutionPage>;
  get(executionId: string): Promise<ExecutionRecord | undefined>;
  cancel(executionId: string): Promise<{ execution_id: string; status: ExecutionStatus }>;
  /**
   * The workflow document an execution runs, when the service can tell. With it the step graph
   * shows the workflow's edges; without it, only what the step ids say (loop bodies).
   */
  workflowText?(record: ExecutionRecord): Promise<string | undefined>;
}

/** The peers this node knows (the node's PeerRegistry). */
export interface DashboardPeers {
  list(): readonly Advertisement[];
  onChange(listener: (e: PeerEvent) => void): () => void;
}

/** Where the dashboard mounts its routes (the node's HTTP server). */
export interface DashboardHttp {
  route(prefix: string, handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void | Promise<void>): void;
}

export interface DashboardOptions {
  http: DashboardHttp;
  nc: NatsConnection;
  peers: DashboardPeers;
  executions: DashboardExecutions;
  /** This node's name (shown in the header). */
  nodeName: string;
  /** The interface the HTTP server is bound to: bound to loopback, Host must be a loopback name. */
  host: string;
  /** Bearer token required on the data endpoints when set (WFMESH_MCP_TOKEN). */
  token?: string;
  /** How often a changed view of the peers (live load) is pushed to open pages. */
  meshIntervalMs: number;
  log: Logger;
}
