import type { Msg, NatsConnection, Service, Subscription } from 'nats';
import type { Logger } from 'pino';
import { CAPABILITIES_METADATA_KEY, NodeCapabilitiesSchema, type Load, type NodeCapabilities, type NodeState } from '../protocol/advert.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { MemberEnvelopeSchema, type AliveEvent, type MemberEnvelope, type MemberEvent } from '../protocol/membership.js';
import { memberSubjectSender, SERVICE_NAME, subjects } from '../protocol/subjects.js';
import { MeshActivity } from './activity.js';
import { ConnectionWatch } from './connection-watch.js';
import { answerView, fetchMember, syncView } from './member-sync.js';
import { Prober, membershipTimings, type MembershipTimings } from './prober.js';
import { PeerRegistry } from './registry.js';
import { suspicionPolicy } from './suspicion.js';

export interface MembershipOptions {
  nc: NatsConnection;
  /** Everything but the id, which the micro service assigns. */
  capabilities: Omit<NodeCapabilities, 'id'>;
  version: string;
  /** The membership period: a node probes one peer every half of it. */
  heartbeatMs: number;
  /** The shortest time after which a silent node can be declared dead (a probe, its second try and the suspicion period). */
  deadAfterMs: number;
  /** How often a node probes one peer while nothing runs in the mesh (default: the busy rate, half the heartbeat). */
  idleProbeMs?: number;
  /** How often an idle node probes its ring successor while a node watches the servers' connections (default 10 idle periods). */
  watchedProbeMs?: number;
  /** Whether this node has work now (steps running here, executions it coordinates): read once a period. */
  busy?: () => boolean;
  /** Read when a probe is answered; must be cheap (no probing here). */
  liveLoad: () => { load: Load; memory_free_mib: number; state: NodeState };
  log: Logger;
}

/** Entries of unknown nodes asked for at once (beyond that, a whole view is pulled). */
const MAX_ENTRY_FETCHES = 8;

/**
 * This node's place in the mesh (see docs/membership.md): its `wfmesh` micro service, its
 * announcements (joins and state changes carry the capabilities; nothing is sent periodically to
 * everyone but, while the mesh has work, one `busy` notice per half activity linger in all), the
 * SWIM-style prober that checks one peer at a time (at the busy or the idle rate) and suspects
 * before it declares a death, and the registry of peers built from all of that.
 */
export class Membership {
  readonly registry = new PeerRegistry();
  readonly timings: MembershipTimings;
  /** Whether anything runs in the mesh (which sets the probe rate). */
  readonly activity: MeshActivity;
  private incarnation = 0;
  private sub: Subscription | undefined;
  /** The subscriptions of the subjects that name this node (see serveOwn). */
  private readonly own: Subscription[] = [];
  private prober: Prober | undefined;
  private capabilities!: NodeCapabilities;
  private syncing: Promise<void> | undefined;
  private stopped = false;
  private followUp: NodeJS.Timeout | undefined;
  /** The first pull of a peer's view, made at start (see `joined`). */
  private firstView: Promise<void> = Promise.resolve();
  /** Nodes whose entry is being asked for (an announcement without capabilities from a node this one lacks). */
  private readonly fetching = new Set<string>();
  /** When this node last repeated its announcement for a node that suspected an older incarnation. */
  private reannouncedAt = 0;

  private constructor(
    private readonly opts: MembershipOptions,
    readonly service: Service,
  ) {
    this.timings = membershipTimings(opts.heartbeatMs, opts.deadAfterMs, opts.idleProbeMs, opts.watchedProbeMs);
    this.registry.suspicion = suspicionPolicy(this.timings.suspicionMs);
    // Six idle periods (12 s by default): told again every half of it while work lasts.
    this.activity = new MeshActivity(6 * this.timings.idleProbeIntervalMs);
  }

  static async create(opts: MembershipOptions): Promise<Membership> {
    const service = await opts.nc.services.add({
      name: SERVICE_NAME,
      version: opts.version,
      description: `wfmesh node ${opts.capabilities.name}`,
      metadata: {
        name: opts.capabilities.name,
        region: opts.capabilities.region,
        gpus: String(opts.capabilities.gpus.length),
        // For people and tools reading `nats micro info`; nodes learn capabilities from announcements.
        [CAPABILITIES_METADATA_KEY]: JSON.stringify(opts.capabilities),
      },
    });
    const m = new Membership(opts, service);
    m.capabilities = { ...opts.capabilities, id: service.info().id };
    m.start();
    return m;
  }

  /**
   * Resolves once the view pulled at start is in (or after `maxWaitMs`): until then this node may
   * know only itself and would call a step no node could run that many nodes can.
   */
  joined(maxWaitMs: number): Promise<void> {
    return Promise.race([this.firstView, new Promise<void>((r) => setTimeout(r, maxWaitMs).unref())]);
  }

  /** This node's id (its micro service instance id). */
  get id(): string {
    return this.capabilities.id;
  }

  get self(): NodeCapabilities {
    return this.capabilities;
  }

  /** Whether this node reads the servers' connection lists for the mesh now (it is the watcher in its own view). */
  get watchingConnections(): boolean {
    return this.prober?.watchingConnections ?? false;
  }

  private start(): void {
    const { nc, log } = this.opts;
    this.registry.alive(this.capabilities, 0, this.opts.liveLoad().state, Date.now());
    this.sub = nc.subscribe(subjects.membersAll(), { callback: (err, msg) => !err && this.onEvent(msg.subject, msg.data) });
    const view = (msg: Msg) => {
      this.refreshOwnLoad();
      answerView(msg, this.registry, { name: this.capabilities.name, id: this.id }, nc.info?.max_payload);
    };
    this.serveOwn(subjects.view(this.capabilities.name, this.id), view);
    // One node of the queue group answers: a joining node's first view costs one reply, not N.
    this.service.addEndpoint('view-any', { subject: subjects.viewAny(), handler: (_err, msg) => view(msg) });
    this.prober = new Prober({
      nc,
      registry: this.registry,
      self: () => ({ id: this.id, name: this.capabilities.name }),
      incarnation: () => this.incarnation,
      live: () => this.opts.liveLoad(),
      refreshSelf: () => this.refreshOwnLoad(),
      timings: this.timings,
      activity: this.activity,
      ...(this.capabilities.watches_connections && {
        // The servers answer within milliseconds: the jitter ends a discovering read soon after
        // the last one. The longest wait is one idle period, so that its timer fires in the
        // wake-up of the next period (a read starts in the period's callback).
        connections: new ConnectionWatch(nc, { maxWaitMs: this.timings.idleProbeIntervalMs, jitterMs: 50 }),
      }),
      onPeriod: () => {
        if (this.opts.busy?.()) this.noteBusy();
      },
      publish: (e) => this.publish(e),
      resync: (target) => this.sync(target),
      learn: (node) => this.fetchEntry(node),
      onStall: (lastedMs) => this.stalled(lastedMs),
      log,
    });
    this.serveOwn(subjects.probe(this.capabilities.name, this.id), (msg) => this.prober?.answer(msg));
    this.announce();
    log.info({ id: this.id }, 'announced to the mesh');
    this.prober.start();
    // Twice: the first answer may come from a node that is itself still joining (a cold start).
    this.firstView = this.sync();
    void this.firstView.then(() => {
      this.followUp = setTimeout(() => void this.sync(), this.timings.probeIntervalMs * (1 + Math.random()));
    });
  }

  /**
   * Answers requests on a subject that names this node (its probe, its view, its execute
   * endpoint) through a plain subscription, not a micro service endpoint: an endpoint always
   * joins a queue group, and a member of it left on a nats-server that froze stays in the other
   * servers' interest until their routes to it time out (minutes). A server hands each request of
   * a queue group to one member, so some went to the frozen server and were never answered: a
   * node that had moved to another server missed probes and refuted suspicions twice a second. A
   * plain subscription's stale interest only gets a copy. Ends when the membership stops.
   */
  serveOwn(subject: string, handle: (msg: Msg) => void): void {
    const { nc, log } = this.opts;
    this.own.push(
      nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return;
          try {
            handle(msg);
          } catch (e) {
            log.warn({ subject, err: (e as Error).message }, 'could not answer a request');
          }
        },
      }),
    );
  }

  /**
   * Tells the mesh this node is alive, with its state and (unless `withCapabilities` is false: a
   * refutation, read by nodes that know this one) its capabilities: join, rejoin, state change.
   */
  announce(withCapabilities = true): void {
    if (this.opts.nc.isClosed() || this.stopped) return;
    const live = this.opts.liveLoad();
    // Its own entry too: the views it hands out must show its current incarnation.
    this.registry.alive(this.capabilities, this.incarnation, live.state, Date.now());
    this.refreshOwnLoad();
    const event: AliveEvent = { type: 'wfmesh.member.v1', kind: 'alive', id: this.id, name: this.capabilities.name, incarnation: this.incarnation, state: live.state };
    if (withCapabilities) {
      event.caps = this.capabilities;
      event.live = { load: live.load, memory_free_mib: live.memory_free_mib };
    }
    this.publish(event);
  }

  /**
   * This node has work (a step starts here, an execution starts): unless a node said so within
   * half the linger, it tells the mesh (an `alive` with `busy`), and every node probes at the busy
   * rate from its next period. Cheap enough to call per step: a clock read and a comparison.
   */
  noteBusy(): void {
    const now = Date.now();
    if (!this.activity.dueToTell(now) || this.opts.nc.isClosed() || this.stopped) return;
    this.activity.extend(now);
    this.prober?.quicken();
    const state = this.opts.liveLoad().state;
    this.publish({ type: 'wfmesh.member.v1', kind: 'alive', id: this.id, name: this.capabilities.name, incarnation: this.incarnation, state, busy: true });
  }

  /** After a reconnect: announce again (a higher incarnation) and catch up on what was missed. */
  rejoin(): void {
    this.incarnation++;
    this.announce();
    void this.sync();
  }

  private refreshOwnLoad(): void {
    const live = this.opts.liveLoad();
    this.registry.setOwnLoad(this.id, live.state, live.load, live.memory_free_mib, Date.now());
  }

  private publish(e: MemberEvent): void {
    if (this.opts.nc.isClosed()) return;
    this.opts.nc.publish(subjects.members(this.capabilities.name, this.id), encodeJson(e));
  }

  private onEvent(subject: string, data: Uint8Array): void {
    const parsed = MemberEnvelopeSchema.safeParse(decodeJson(data));
    if (!parsed.success) {
      this.opts.log.warn({ subject, issue: parsed.error.issues[0]?.message }, 'ignored a malformed membership message');
      return;
    }
    const e = parsed.data;
    // The subject names its sender (with per-node NATS permissions only that node can publish
    // there): a node speaks for itself when it says it is alive or leaving; anyone may suspect.
    const sender = memberSubjectSender(subject);
    const speaksForItself = e.kind === 'alive' || e.kind === 'left';
    if (!sender || (speaksForItself ? sender.id !== e.id || sender.name !== e.name : sender.name !== e.from)) {
      this.opts.log.warn({ subject, kind: e.kind, about: e.name }, 'ignored a membership message sent on another node\'s subject');
      return;
    }
    // An id speaks under one name only: a message pairing a known id with another name is forged.
    const known = e.id === this.id ? this.capabilities : this.registry.get(e.id);
    if (known && known.name !== e.name) {
      this.opts.log.warn({ subject, kind: e.kind, about: e.name }, 'ignored a membership message naming a node by another node\'s id');
      return;
    }
    if (e.id === this.id) return this.aboutMe(e);
    const now = Date.now();
    switch (e.kind) {
      case 'alive': {
        if (e.busy === true) {
          this.activity.extend(now);
          this.prober?.quicken();
        }
        if (known) {
          // An id's capabilities do not change; its load, told by the node itself, is news.
          if (this.registry.alive(known, e.incarnation, e.state, now) && e.live) this.registry.heardFrom(e.id, now, { incarnation: e.incarnation, state: e.state, ...e.live });
          return;
        }
        if (!this.registry.wouldTake(e.id, e.incarnation)) return;
        if (e.caps === undefined) {
          if (!this.fetchEntry(e)) void this.sync();
          return;
        }
        const caps = NodeCapabilitiesSchema.safeParse(e.caps);
        if (caps.success && caps.data.id === e.id && caps.data.name === e.name) {
          // Its load as it announced itself: the entry shows that until a probe's answer brings newer.
          if (this.registry.alive(caps.data, e.incarnation, e.state, now) && e.live) this.registry.heardFrom(e.id, now, { incarnation: e.incarnation, state: e.state, ...e.live });
        } else this.opts.log.warn({ subject, about: e.name }, 'ignored an announcement without valid capabilities');
        return;
      }
      case 'suspect':
        // Something is wrong in the mesh: probe at the busy rate (others' probes confirm the
        // suspicion sooner, which shortens it), as the suspecter does too (it reads its own).
        this.activity.extend(now);
        this.prober?.quicken();
        if (this.registry.suspect(e.id, e.incarnation, now, e.from, e.sure === true)) this.prober?.watchSuspicions();
        return;
      case 'dead':
        this.registry.remove(e.id, 'dead', e.incarnation, now);
        return;
      case 'left':
        this.registry.remove(e.id, 'stopped', e.incarnation, now);
    }
  }

  /**
   * This node stood still long enough to have been declared dead: it announces itself again at
   * once, before reading the backlog that says so (timers run before I/O when a process thaws),
   * so that the mesh takes it back one announcement later instead of after its whole backlog.
   * Shorter stalls (a node frozen for less than the dead timeout cannot have been declared dead)
   * are left to the usual refutation, when it reads a suspicion: re-announcing on every late
   * timer floods the mesh exactly when it is short of CPU (measured: a thousand nodes on two
   * cores, 125 per process, re-announced 109 times a second and never settled).
   */
  private stalled(lastedMs: number): void {
    if (lastedMs < this.opts.deadAfterMs || this.stopped) return;
    this.incarnation++;
    this.opts.log.warn({ stalled_ms: lastedMs, incarnation: this.incarnation }, 'stood still: announcing itself again');
    // With its capabilities: after a stall this long most nodes may have dropped it, and one
    // announcement is cheaper than each of them asking for its entry.
    this.announce();
  }

  /**
   * Asks a node this one lacks for its entry (once at a time per node, a few nodes at a time);
   * false when that many are under way already (a whole view is the better way to catch up).
   */
  private fetchEntry(node: { id: string; name: string }): boolean {
    if (this.fetching.has(node.id) || this.stopped) return true;
    if (this.fetching.size >= MAX_ENTRY_FETCHES) return false;
    this.fetching.add(node.id);
    fetchMember(this.opts.nc, this.registry, node)
      .catch(() => false)
      .then((ok) => {
        this.fetching.delete(node.id);
        if (!ok && !this.opts.nc.isClosed()) this.opts.log.debug({ peer: node.name }, 'could not fetch the entry of an announced node');
      });
    return true;
  }

  /** Someone suspects this node, or declared it dead: it refutes with a higher incarnation (a rejoin). */
  private aboutMe(e: MemberEnvelope): void {
    if ((e.kind !== 'suspect' && e.kind !== 'dead') || this.stopped) return;
    if (e.incarnation < this.incarnation) {
      // About an older incarnation: the sender (and whoever believes it) missed this node's last
      // announcement, and no higher incarnation would reach them any better. Said again, at most
      // once a probe period: otherwise they hold a suspicion nobody refutes and drop a live node.
      const now = Date.now();
      if (now - this.reannouncedAt < this.timings.probeIntervalMs) return;
      this.reannouncedAt = now;
      this.announce(e.kind === 'dead');
      return;
    }
    this.incarnation = e.incarnation + 1;
    this.prober?.slower(); // suspected: most likely this node is the slow one
    this.opts.log.warn({ by: e.from, kind: e.kind, incarnation: this.incarnation }, e.kind === 'dead' ? 'declared dead by a peer: rejoining' : 'suspected by a peer: refuting');
    // Nodes that dropped it need its capabilities again; a suspicion is held by nodes that know it.
    this.announce(e.kind === 'dead');
  }

  /** Pulls a peer's view (any node's when no target) and adds the members this node missed. */
  private sync(target?: { id: string; name: string }): Promise<void> {
    this.syncing ??= syncView(this.opts.nc, this.registry, this.capabilities.name, target, this.opts.log).finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /** Announces a clean leave (peers drop this node at once) and stops the service. */
  async stop(): Promise<void> {
    this.prober?.stop();
    clearTimeout(this.followUp);
    if (!this.opts.nc.isClosed() && !this.stopped) {
      this.publish({ type: 'wfmesh.member.v1', kind: 'left', id: this.id, name: this.capabilities.name, incarnation: this.incarnation });
      this.stopped = true;
      this.sub?.unsubscribe();
      for (const sub of this.own.splice(0)) sub.unsubscribe();
      await this.service.stop().catch(() => undefined);
    }
    this.stopped = true;
  }
}

