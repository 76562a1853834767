import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { StepServer } from '../dispatch/step-server.js';
import type { ExecutionService } from '../executions/index.js';
import { createStepExecutor } from '../executor/index.js';
import type { ExecutorEnvironment, StepExecutor } from '../executor/types.js';
import { canReadConnections, nodeConnectionName } from '../mesh/connection-watch.js';
import { Membership } from '../mesh/membership.js';
import { LiveLoadSampler, probeHardware, type Hardware } from '../mesh/probe.js';
import type { PeerRegistry } from '../mesh/registry.js';
import { connectNats, NODE_CONNECTION } from '../nats/connection.js';
import type { NodeCapabilities, NodeState } from '../protocol/advert.js';
import { subjects } from '../protocol/subjects.js';
import { VERSION } from '../version.js';
import { NodeHttpServer } from './http-server.js';
import { NodeMetrics, serveMetrics } from './metrics.js';
import type { NodeOptions } from './options.js';
import { ToolCallRouter } from './tool-calls.js';

/**
 * One wfmesh node: the composition root. It connects to NATS, probes its hardware, serves HTTP,
 * joins the mesh and runs steps. Lifecycle: STARTING → RUNNING → DRAINING → STOPPED.
 */
export class MeshNode {
  state: NodeState = 'STARTING';
  /** Steps running on this node now. */
  inflight = 0;
  /** Prometheus counters at /metrics (the step server and the engine report to it). */
  readonly metrics = new NodeMetrics();
  /** Takes steps from the mesh (attached by startNode). */
  stepServer: StepServer | undefined;
  /** Places the tool calls of agents running here (its runners are attached by startNode). */
  toolCalls = new ToolCallRouter();
  /** Runs and answers for executions (attached by startNode). */
  executions: ExecutionService | undefined;
  private stopping: Promise<void> | undefined;
  private readonly closers: (() => Promise<void> | void)[] = [];
  private readonly drainers: (() => Promise<void> | void)[] = [];

  private constructor(
    readonly options: NodeOptions,
    readonly log: Logger,
    readonly nc: NatsConnection,
    readonly hardware: Hardware,
    readonly executor: StepExecutor,
    readonly executorEnv: ExecutorEnvironment,
    readonly http: NodeHttpServer,
    readonly sampler: LiveLoadSampler,
    readonly membership: Membership,
  ) {}

  static async create(options: NodeOptions, baseLog: Logger): Promise<MeshNode> {
    const log = baseLog.child({ node: options.name });
    const executorEnv: ExecutorEnvironment = {
      node_name: options.name,
      allow: options.allow,
      llm: options.llm,
      max_output_bytes: options.limits.maxOutputBytes,
    };
    const toolCalls = new ToolCallRouter();
    const executor = createStepExecutor(executorEnv, { ...(options.tools && { tools: options.tools }), toolCalls });
    const sampler = LiveLoadSampler.acquire(Math.max(options.heartbeatMs, 1_000));
    let nc: NatsConnection;
    let hardware: Hardware;
    try {
      [nc, hardware] = await Promise.all([connectNats(options.nats, nodeConnectionName(options.name), NODE_CONNECTION), probeHardware(options.hardware)]);
    } catch (err) {
      sampler.stop(); // wrong credentials and the like: release the shared sampler
      throw err;
    }
    for (const note of hardware.notes) log.info(note);
    let http: NodeHttpServer;
    let watchesConnections: boolean;
    try {
      [http, watchesConnections] = await Promise.all([
        NodeHttpServer.create(options.http.host, options.http.port, log, options.http.portFallback),
        options.connectionWatch ? canReadConnections(nc) : false,
      ]);
    } catch (err) {
      sampler.stop();
      await nc.close();
      throw err;
    }
    const capabilities: Omit<NodeCapabilities, 'id'> = {
      name: options.name,
      version: VERSION,
      region: options.region,
      labels: options.labels,
      cpu: hardware.cpu,
      memory: hardware.memory,
      os: hardware.os,
      gpus: hardware.gpus,
      tools: [...executor.tools],
      models: [...options.llm.models],
      mcp_url: options.http.mcp ? `${advertisedUrl(http.url, options.http.advertiseHost)}/mcp` : null,
      http_url: advertisedUrl(http.url, options.http.advertiseHost),
      started_at: new Date().toISOString(),
      ...(watchesConnections && { watches_connections: true }),
      takes_step_batches: true,
    };
    if (options.connectionWatch && !watchesConnections) {
      log.info(`the NATS servers do not answer ${subjects.accountConnections()} for this node: it cannot watch connections for the mesh (docs/membership.md)`);
    }
    let node: MeshNode | undefined;
    const membership = await Membership.create({
      nc,
      capabilities,
      version: VERSION,
      heartbeatMs: options.heartbeatMs,
      deadAfterMs: options.deadAfterMs,
      idleProbeMs: options.idleProbeMs,
      watchedProbeMs: options.watchedProbeMs,
      busy: () => node?.busy ?? false,
      log,
      liveLoad: () => ({
        state: node?.state ?? 'STARTING',
        load: { inflight: node?.inflight ?? 0, max_concurrency: options.maxConcurrency, cpu_pct: sampler.cpuPct },
        memory_free_mib: sampler.freeMib,
      }),
    });
    node = new MeshNode(options, log, nc, hardware, executor, executorEnv, http, sampler, membership);
    node.toolCalls = toolCalls;
    node.serveHealth();
    serveMetrics(node);
    node.watchConnection();
    node.state = 'RUNNING';
    membership.announce();
    return node;
  }

  get id(): string {
    return this.membership.id;
  }

  /** Whether this node has work: steps running here, or executions it coordinates (the mesh probes at its busy rate while any node has). */
  get busy(): boolean {
    return this.inflight > 0 || (this.executions?.coordinating ?? 0) > 0;
  }

  get name(): string {
    return this.options.name;
  }

  get registry(): PeerRegistry {
    return this.membership.registry;
  }

  /**
   * Registers work to finish while the node drains: it still answers probes (as DRAINING, so peers
   * send it no new steps) and serves its in-flight steps. Run in order, before it leaves the mesh.
   */
  onDrain(drain: () => Promise<void> | void): void {
    this.drainers.push(drain);
  }

  /** Registers something to close when the node stops (run in reverse order, before NATS drains). */
  onStop(closer: () => Promise<void> | void): void {
    this.closers.push(closer);
  }

  private serveHealth(): void {
    this.http.route('/healthz', (_req, res) => {
      const connected = !this.nc.isClosed() && this.connected;
      const body = { status: connected ? 'ok' : 'unavailable', node: this.name, state: this.state, nats_connected: connected, peers: this.registry.size };
      res.writeHead(connected && this.state === 'RUNNING' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  }

  private connected = true;

  private watchConnection(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          this.log.warn({ server: s.data }, 'lost the NATS server; reconnecting');
        } else if (s.type === 'reconnect') {
          this.connected = true;
          this.log.info({ server: s.data }, 'reconnected to NATS');
          this.membership.rejoin();
        }
      }
    })();
  }

  /**
   * Leaves the mesh cleanly: drains first (executions handed on, in-flight steps finished within
   * the drain timeout), then says goodbye (peers drop it at once), then closes and drains NATS.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'DRAINING';
      this.log.info('draining: handing executions on and finishing in-flight steps');
      if (!this.nc.isClosed()) this.membership.announce();
      for (const drain of this.drainers) {
        try {
          await drain();
        } catch (err) {
          this.log.warn({ err }, 'error while draining');
        }
      }
      this.log.info('leaving the mesh');
      await this.membership.stop();
      for (const close of [...this.closers].reverse()) {
        try {
          await close();
        } catch (err) {
          this.log.warn({ err }, 'error while stopping');
        }
      }
      this.sampler.stop();
      await this.http.close();
      if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
      this.state = 'STOPPED';
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}

/** The URL peers should use: the bound one, or the same port on the advertised host. */
function advertisedUrl(bound: string, advertiseHost: string | undefined): string {
  if (!advertiseHost) return bound;
  const url = new URL(bound);
  url.hostname = advertiseHost;
  return url.origin;
}
