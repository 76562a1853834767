import type { NatsConnection } from 'nats';
import type { PeerRegistry } from '../mesh/registry.js';
import type { StepReply } from '../protocol/step.js';
import { VERSION } from '../version.js';
import type { NodeHttpServer } from './http-server.js';

/**
 * A node's Prometheus metrics, written by hand in the text exposition format (0.0.4): a handful
 * of counters, gauges and one histogram do not justify a client library in the binary.
 */

/** Step latency buckets, in seconds: from a local echo (sub-millisecond) to a long agent call. */
export const STEP_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;

// Statuses exported at 0 from the start, so `rate()` and alerts see a series before its first event.
const EXECUTION_STATUSES = ['completed', 'failed', 'cancelled'];
const STEP_STATUSES = ['completed', 'failed', 'skipped', 'cancelled'];

/** What the node knows only at scrape time. */
export interface LiveGauges {
  inflight: number;
  maxConcurrency: number;
  peers: number;
  /** Whether this node reads the servers' connection lists for the mesh now (in its own view). */
  watchingConnections: boolean;
  /** Whether this node sees work in the mesh now (its membership probes at the busy rate). */
  meshBusy: boolean;
  natsConnected: boolean;
  state: string;
}

export interface NodeIdentity {
  name: string;
  region: string;
}

/**
 * The counters a node keeps. The execution engine calls `executionFinished`, the step server
 * `stepFinished`; `watchNats` and `watchPeers` count reconnects and peer churn by themselves.
 */
export class NodeMetrics {
  private readonly executions = new Map<string, number>(EXECUTION_STATUSES.map((s) => [s, 0]));
  private readonly steps = new Map<string, number>(STEP_STATUSES.map((s) => [s, 0]));
  private readonly stepBuckets: number[] = STEP_SECONDS_BUCKETS.map(() => 0);
  private stepCount = 0;
  private stepSecondsSum = 0;
  private executionsStarted = 0;
  private natsReconnects = 0;
  private natsDisconnects = 0;
  private peersJoined = 0;
  private readonly peersLeft = new Map<string, number>([
    ['dead', 0],
    ['stopped', 0],
  ]);

  /** An execution began on this node (this node is its entry point). */
  executionStarted(): void {
    this.executionsStarted++;
  }

  /** An execution this node coordinated ended with `status` (completed, failed, cancelled). */
  executionFinished(status: string): void {
    this.executions.set(status, (this.executions.get(status) ?? 0) + 1);
  }

  /** This node ran one step to its end: its status and how long it ran, in seconds. */
  stepFinished(status: string, seconds: number): void {
    this.steps.set(status, (this.steps.get(status) ?? 0) + 1);
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.stepCount++;
    this.stepSecondsSum += seconds;
    const i = STEP_SECONDS_BUCKETS.findIndex((le) => seconds <= le);
    if (i >= 0) this.stepBuckets[i]!++;
  }

  /** False between a NATS disconnect and the reconnect that follows. */
  natsUp = true;

  /** A step this node served for the mesh ended with `reply` (the step server's onStepEnd). */
  stepReplied(reply: StepReply, seconds: number): void {
    this.stepFinished(reply.ok ? 'completed' : reply.failure.type === 'cancelled' ? 'cancelled' : 'failed', seconds);
  }

  natsReconnected(): void {
    this.natsReconnects++;
    this.natsUp = true;
  }

  natsDisconnected(): void {
    this.natsDisconnects++;
    this.natsUp = false;
  }

  peerJoined(): void {
    this.peersJoined++;
  }

  peerLeft(reason: string): void {
    this.peersLeft.set(reason, (this.peersLeft.get(reason) ?? 0) + 1);
  }

  /** Counts reconnects and disconnects of `nc` until it closes (its own status iterator). */
  watchNats(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'reconnect') this.natsReconnected();
        else if (s.type === 'disconnect') this.natsDisconnected();
      }
    })().catch(() => undefined);
  }

  /** Counts peers joining and leaving; returns the unsubscribe function. */
  watchPeers(registry: PeerRegistry): () => void {
    return registry.onChange((e) => {
      if (e.kind === 'joined') this.peerJoined();
      else if (e.kind === 'left') this.peerLeft(e.reason);
    });
  }

  /** The Prometheus text exposition of every metric. */
  render(node: NodeIdentity, live: LiveGauges): string {
    const out: string[] = [];
    const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    const sample = (name: string, value: number, labels: Record<string, string> = {}) => {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      out.push(`${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`);
    };

    family('wfmesh_node_info', 'gauge', 'Always 1; labels name the node, its region, version and lifecycle state.');
    sample('wfmesh_node_info', 1, { name: node.name, region: node.region, version: VERSION, state: live.state });

    family('wfmesh_executions_started_total', 'counter', 'Executions this node accepted as their entry node.');
    sample('wfmesh_executions_started_total', this.executionsStarted);
    family('wfmesh_executions_total', 'counter', 'Executions this node coordinated to their end, by final status.');
    for (const [status, n] of this.executions) sample('wfmesh_executions_total', n, { status });

    family('wfmesh_steps_total', 'counter', 'Steps this node ran to their end, by status.');
    for (const [status, n] of this.steps) sample('wfmesh_steps_total', n, { status });

    family('wfmesh_step_duration_seconds', 'histogram', 'How long the steps this node ran took, in seconds.');
    let cumulative = 0;
    STEP_SECONDS_BUCKETS.forEach((le, i) => {
      cumulative += this.stepBuckets[i] ?? 0;
      sample('wfmesh_step_duration_seconds_bucket', cumulative, { le: String(le) });
    });
    sample('wfmesh_step_duration_seconds_bucket', this.stepCount, { le: '+Inf' });
    sample('wfmesh_step_duration_seconds_sum', this.stepSecondsSum);
    sample('wfmesh_step_duration_seconds_count', this.stepCount);

    family('wfmesh_steps_inflight', 'gauge', 'Steps running on this node now.');
    sample('wfmesh_steps_inflight', live.inflight);
    family('wfmesh_max_concurrency', 'gauge', 'Steps this node runs at once at most.');
    sample('wfmesh_max_concurrency', live.maxConcurrency);

    family('wfmesh_peers', 'gauge', 'Live nodes this node sees in the mesh, itself included.');
    sample('wfmesh_peers', live.peers);
    family('wfmesh_peers_joined_total', 'counter', 'Nodes seen joining the mesh.');
    sample('wfmesh_peers_joined_total', this.peersJoined);
    family('wfmesh_peers_left_total', 'counter', 'Nodes seen leaving the mesh, by reason (stopped: clean exit; dead: heartbeats stopped).');
    for (const [reason, n] of this.peersLeft) sample('wfmesh_peers_left_total', n, { reason });
    family('wfmesh_connection_watcher', 'gauge', "1 while this node is the one that reads the NATS servers' connection lists for the idle mesh (docs/membership.md).");
    sample('wfmesh_connection_watcher', live.watchingConnections ? 1 : 0);
    family('wfmesh_mesh_busy', 'gauge', '1 while this node sees work running in the mesh (its failure detection then runs at the busy rate).');
    sample('wfmesh_mesh_busy', live.meshBusy ? 1 : 0);

    family('wfmesh_nats_connected', 'gauge', '1 while the NATS connection is up.');
    sample('wfmesh_nats_connected', live.natsConnected ? 1 : 0);
    family('wfmesh_nats_reconnects_total', 'counter', 'Times the NATS connection came back after a disconnect.');
    sample('wfmesh_nats_reconnects_total', this.natsReconnects);
    family('wfmesh_nats_disconnects_total', 'counter', 'Times the NATS connection was lost.');
    sample('wfmesh_nats_disconnects_total', this.natsDisconnects);

    const mem = process.memoryUsage();
    family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
    sample('process_resident_memory_bytes', mem.rss);
    family('process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch, in seconds.');
    sample('process_start_time_seconds', Math.round(Date.now() / 1000 - process.uptime()));
    family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, in bytes.');
    sample('nodejs_heap_used_bytes', mem.heapUsed);
    return `${out.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** What `/metrics` needs from a node (MeshNode satisfies it). */
export interface MetricsSource {
  readonly metrics: NodeMetrics;
  readonly http: NodeHttpServer;
  readonly nc: NatsConnection;
  readonly registry: PeerRegistry;
  readonly membership: { readonly watchingConnections: boolean; readonly activity: { busy(): boolean } };
  readonly options: { name: string; region: string; maxConcurrency: number };
  readonly inflight: number;
  readonly state: string;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Mounts GET /metrics on the node's HTTP port and starts counting NATS and peer events. */
export function serveMetrics(node: MetricsSource): void {
  node.metrics.watchNats(node.nc);
  node.metrics.watchPeers(node.registry);
  node.http.route('/metrics', (_req, res) => {
    const body = node.metrics.render(
      { name: node.options.name, region: node.options.region },
      {
        inflight: node.inflight,
        maxConcurrency: node.options.maxConcurrency,
        peers: node.registry.size,
        watchingConnections: node.membership.watchingConnections,
        meshBusy: node.membership.activity.busy(),
        natsConnected: node.metrics.natsUp && !node.nc.isClosed(),
        state: node.state,
      },
    );
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(body);
  });
}
