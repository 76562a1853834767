import { RequestStrategy, type NatsConnection, type Service, type ServiceMsg, type Subscription } from 'nats';
import type { Logger } from 'pino';
import {
  CAPABILITIES_METADATA_KEY,
  HeartbeatSchema,
  NodeCapabilitiesSchema,
  ServiceInfoSchema,
  type Heartbeat,
  type Load,
  type MeshView,
  type NodeCapabilities,
  type NodeState,
} from '../protocol/advert.js';
import { SERVICE_NAME, subjects } from '../protocol/subjects.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { PeerRegistry } from './registry.js';

export interface MembershipOptions {
  nc: NatsConnection;
  /** Everything but the id, which the micro service assigns. */
  capabilities: Omit<NodeCapabilities, 'id'>;
  version: string;
  heartbeatMs: number;
  deadAfterMs: number;
  /** Read on every heartbeat; must be cheap (no probing here). */
  liveLoad: () => { load: Load; memory_free_mib: number; state: NodeState };
  log: Logger;
}

/**
 * This node's place in the mesh: its `wfmesh` micro service (static capabilities in metadata),
 * its heartbeat (live load), and the registry of peers it keeps from theirs.
 */
export class Membership {
  readonly registry: PeerRegistry;
  private seq = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private heartbeatSub: Subscription | undefined;
  private readonly fetching = new Set<string>();
  private capabilities!: NodeCapabilities;

  private constructor(
    private readonly opts: MembershipOptions,
    readonly service: Service,
  ) {
    this.registry = new PeerRegistry(opts.deadAfterMs);
  }

  static async create(opts: MembershipOptions): Promise<Membership> {
    const service = await opts.nc.services.add({
      name: SERVICE_NAME,
      version: opts.version,
      description: `wfmesh node ${opts.capabilities.name}`,
      metadata: {
        name: opts.capabilities.name,
        region: opts.capabilities.region,
        // Flat keys for people using `nats micro info`; the JSON entry is what nodes read.
        gpus: String(opts.capabilities.gpus.length),
        [CAPABILITIES_METADATA_KEY]: JSON.stringify(opts.capabilities),
      },
    });
    const m = new Membership(opts, service);
    m.capabilities = { ...opts.capabilities, id: service.info().id };
    m.start();
    return m;
  }

  /** This node's id (its micro service instance id). */
  get id(): string {
    return this.capabilities.id;
  }

  get self(): NodeCapabilities {
    return this.capabilities;
  }

  private start(): void {
    const { nc, log } = this.opts;
    this.registry.upsert(this.capabilities, Date.now());
    this.heartbeatSub = nc.subscribe(subjects.heartbeatAll(), {
      callback: (err, msg) => {
        if (err) return;
        const parsed = HeartbeatSchema.safeParse(decodeJson(msg.data));
        if (!parsed.success) {
          log.warn({ subject: msg.subject, issue: parsed.error.issues[0]?.message }, 'ignored a malformed heartbeat');
          return;
        }
        // A heartbeat speaks for the node its subject names: with per-node NATS permissions only
        // that node can publish there, so a `STOPPED` for another node is never believed.
        if (msg.subject !== heartbeatSubjectOf(parsed.data)) {
          log.warn({ subject: msg.subject, claims: parsed.data.name }, 'ignored a heartbeat sent on another node\'s subject');
          return;
        }
        if (!this.registry.heartbeat(parsed.data, Date.now())) void this.fetchCapabilities(parsed.data.id);
      },
    });
    // View endpoint: this node's registry, for `wfmesh nodes` and remote status.
    this.service.addEndpoint('view', {
      subject: subjects.view(this.capabilities.name, this.id),
      handler: (err, msg: ServiceMsg) => {
        if (err) return;
        const view: MeshView = { type: 'wfmesh.view.v1', node: this.capabilities.name, nodes: [...this.registry.list()] };
        msg.respond(encodeJson(view));
      },
    });
    this.publishHeartbeat();
    log.info({ id: this.id }, 'announced to the mesh');
    this.heartbeatTimer = setInterval(() => this.publishHeartbeat(), this.opts.heartbeatMs);
    this.expiryTimer = setInterval(() => {
      for (const id of this.registry.expire(Date.now(), this.id)) log.info({ peer: id }, 'peer stopped heart-beating: dropped');
    }, Math.max(50, Math.floor(this.opts.heartbeatMs / 4)));
    void this.discoverAll();
  }

  private heartbeat(state?: NodeState): Heartbeat {
    const live = this.opts.liveLoad();
    return {
      type: 'wfmesh.heartbeat.v1',
      id: this.id,
      name: this.capabilities.name,
      seq: this.seq++,
      state: state ?? live.state,
      load: live.load,
      memory_free_mib: live.memory_free_mib,
      sent_at: new Date().toISOString(),
    };
  }

  /** Publishes a heartbeat now (also used to announce load changes quickly). */
  publishHeartbeat(state?: NodeState): void {
    if (this.opts.nc.isClosed()) return;
    const hb = this.heartbeat(state);
    this.registry.heartbeat(hb, Date.now());
    this.opts.nc.publish(subjects.heartbeat(this.capabilities.name, this.id), encodeJson(hb));
  }

  /** Asks every `wfmesh` instance for its info (start-up: learn the mesh without waiting for heartbeats). */
  private async discoverAll(): Promise<void> {
    try {
      const replies = await this.opts.nc.requestMany(subjects.serviceInfo(), undefined, {
        maxWait: 1_000,
        strategy: RequestStrategy.JitterTimer,
        jitter: 250,
      });
      for await (const msg of replies) this.acceptInfo(decodeJson(msg.data));
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'service discovery request ended');
    }
  }

  private async fetchCapabilities(id: string): Promise<void> {
    if (this.fetching.has(id)) return;
    this.fetching.add(id);
    try {
      const msg = await this.opts.nc.request(subjects.serviceInfo(id), undefined, { timeout: 2_000 });
      this.acceptInfo(decodeJson(msg.data));
    } catch (err) {
      this.opts.log.debug({ peer: id, err: (err as Error).message }, 'could not fetch peer info');
    } finally {
      this.fetching.delete(id);
    }
  }

  private acceptInfo(data: unknown): void {
    const info = ServiceInfoSchema.safeParse(data);
    if (!info.success) {
      this.opts.log.warn({ issue: info.error.issues[0]?.message }, 'ignored a malformed service info');
      return;
    }
    const raw = info.data.metadata?.[CAPABILITIES_METADATA_KEY];
    const caps = NodeCapabilitiesSchema.omit({ id: true }).safeParse(raw ? safeJson(raw) : undefined);
    if (!caps.success) {
      this.opts.log.warn({ peer: info.data.id }, 'ignored a wfmesh service without valid capabilities');
      return;
    }
    this.registry.upsert({ ...caps.data, id: info.data.id }, Date.now());
  }

  /** Announces a clean leave (peers drop us at once) and stops the service. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.expiryTimer);
    if (!this.opts.nc.isClosed()) {
      this.publishHeartbeat('STOPPED');
      this.heartbeatSub?.unsubscribe();
      await this.service.stop().catch(() => undefined);
    }
  }
}

function heartbeatSubjectOf(hb: Heartbeat): string | undefined {
  try {
    return subjects.heartbeat(hb.name, hb.id);
  } catch {
    return undefined; // a name or id that is no subject token cannot have come from a node
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
