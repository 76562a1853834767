import { ErrorCode, type Msg, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { Load, NodeState } from '../protocol/advert.js';
import { decodeJson, encodeJson } from '../protocol/codec.js';
import { ProbeAckSchema, ProbeSchema, type MemberEvent, type MembersDigest, type ProbeAck } from '../protocol/membership.js';
import { subjects } from '../protocol/subjects.js';
import { Requester } from '../nats/requester.js';
import { ServerCheck } from '../nats/server-check.js';
import type { MeshActivity } from './activity.js';
import { connectionWatcher, unconnectedMembers, type ConnectionWatch } from './connection-watch.js';
import type { PeerRegistry } from './registry.js';

export interface MembershipTimings {
  /** A node probes one peer this often while the mesh is busy (anything runs anywhere). */
  probeIntervalMs: number;
  /** ... and this often while it is idle (nothing has run for the activity linger). */
  idleProbeIntervalMs: number;
  /**
   * Idle, while a node of the mesh watches the servers' connection lists (kills are noticed from
   * them every idle period): how often the others probe their ring successors, for frozen nodes.
   */
  watchedProbeIntervalMs: number;
  /** A probe unanswered for this long is sent once more; unanswered again, its target becomes suspect. */
  probeTimeoutMs: number;
  /** A suspect that does not refute within this is declared dead (the shortest period: more when few nodes confirm). */
  suspicionMs: number;
  /** A timer that fires this much late means this node stood still: it blames itself, not its peers. */
  lagToleranceMs: number;
  /** The shortest time after which a silent node is declared dead; also how long this node waits for its own server's PONG. */
  deadAfterMs: number;
}

/**
 * Derived from the node's heartbeat period and dead timeout: a probe, its second try and the
 * suspicion period add up to the dead timeout, so a node frozen for less than it can never be
 * declared dead (the step server fences its work on the same figure). The idle period
 * (`idleProbeMs`, never shorter than the busy one) changes only how soon a death is noticed
 * while nothing runs, never that minimum.
 */
export function membershipTimings(heartbeatMs: number, deadAfterMs: number, idleProbeMs = heartbeatMs / 2, watchedProbeMs = 10 * idleProbeMs): MembershipTimings {
  const probeIntervalMs = Math.max(25, Math.round(heartbeatMs / 2));
  const probeTimeoutMs = Math.max(25, Math.min(probeIntervalMs, Math.round(deadAfterMs / 5)));
  const idleProbeIntervalMs = Math.max(probeIntervalMs, Math.round(idleProbeMs));
  return {
    probeIntervalMs,
    idleProbeIntervalMs,
    watchedProbeIntervalMs: Math.max(idleProbeIntervalMs, Math.round(watchedProbeMs)),
    probeTimeoutMs,
    suspicionMs: Math.max(50, deadAfterMs - 2 * probeTimeoutMs),
    lagToleranceMs: 250,
    deadAfterMs,
  };
}

/**
 * The most a node stretches its probe timeouts and suspicion periods when it is slow itself: high
 * enough that a node kept short of CPU for long (a thousand nodes cold-starting on two cores)
 * stops suspecting peers for its own slowness.
 */
const MAX_HEALTH = 8;

/**
 * Idle periods after a join or a departure during which every node keeps probing at the idle
 * period, watcher or not: probe answers carry the digests that repair views (anti-entropy), and a
 * cold start of 50 nodes did not converge in a minute at the watched period.
 */
const SETTLE_PERIODS = 6;

/** Members without a connection that the watcher probes after one read, at most (a read during a server's fall-over). */
const MAX_WATCH_PROBES = 64;

export interface ProberOptions {
  nc: NatsConnection;
  registry: PeerRegistry;
  self: () => { id: string; name: string };
  incarnation: () => number;
  live: () => { load: Load; memory_free_mib: number; state: NodeState };
  /** Copies this node's own live figures into its registry entry (once a period). */
  refreshSelf: () => void;
  timings: MembershipTimings;
  /** Whether the mesh is busy: the prober keeps the busy period while it is, the idle one otherwise. */
  activity: MeshActivity;
  /** Present when this node can read the servers' connection lists (it watches them while it is the mesh's watcher). */
  connections?: ConnectionWatch;
  /** Called once a period, before the probe (the node tells the mesh it still has work). */
  onPeriod?: () => void;
  publish: (e: MemberEvent) => void;
  /** This node stood still for `lastedMs` (told before it reads what arrived meanwhile). */
  onStall: (lastedMs: number) => void;
  /** Asked when a probed peer knows other members than this node does. */
  resync: (peer?: { id: string; name: string }) => Promise<void>;
  /** Asks one node this node lacks for its entry; false when too many such asks are under way. */
  learn: (node: { id: string; name: string }) => boolean;
  log: Logger;
}

/**
 * SWIM-style failure detection: every period this node probes the next peer of a shuffled round
 * (each peer is probed by someone about once a period, whatever the mesh size), so the mesh sends
 * two messages per node per period. A peer that does not answer is probed once more (a peer that
 * was only busy for a moment costs two messages, not a broadcast to everyone and a refutation);
 * one that misses that too becomes suspect, and everyone gives it `suspicionMs` to refute; only
 * then is it dead. Lifeguard's lesson is kept: a node that
 * notices it stood still itself (a timer far past due) suspects nobody for it and pushes every
 * suspicion back by the time it lost.
 */
export class Prober {
  private round: string[] = [];
  private periodTimer: NodeJS.Timeout | undefined;
  /** When the period timer is due (its lateness tells a stall of this node). */
  private periodDueAt = 0;
  /** Runs every `tickMs` only while suspicions are open: they end within a quarter period of due. */
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryDueAt = 0;
  private running = false;
  /** When this node last stood still (its own timers ran late), and for how long. */
  private lastStall = { endedAt: 0, lastedMs: 0 };
  /** When a timer of this node last ran noticeably late (it is busy: its own probes may time out on it). */
  private lastSlowAt = 0;
  private lastSyncAt = 0;
  private readonly tickMs: number;
  /**
   * Lifeguard's local health multiplier, 1 (healthy) to MAX_HEALTH: raised when this node's
   * timers run late, its probes are answered slowly or it is suspected itself; lowered after a
   * run of quick answers. Probe timeouts and suspicion periods are stretched by it, so a node that
   * is itself short of CPU gives its peers more time instead of declaring them dead.
   */
  private health = 1;
  private quickAcks = 0;
  private offChanges: (() => void) | undefined;
  /** When this node's view last gained or lost a member. */
  private viewChangedAt = 0;
  /** When this node last probed its ring successor (the watcher does so at the watched period only). */
  private ringProbedAt = 0;
  private readingConnections = false;
  /** Whether the last read of the connection lists failed (a failure is logged once per run). */
  private connectionsFailing = false;
  /** Asks this node's own server for a PONG when a probe goes unanswered (it may be the server that stands still). */
  private readonly serverCheck: ServerCheck;
  /** When this node last asked a node it declared dead to refute (see revive). */
  private readonly revived = new Map<string, number>();

  constructor(private readonly opts: ProberOptions) {
    // Half a period: suspicions end within a quarter second of due.
    this.tickMs = Math.max(20, Math.floor(opts.timings.probeIntervalMs / 2));
    this.serverCheck = new ServerCheck(opts.nc, opts.log);
  }

  /**
   * One timer wakes an idle node, once a period (an idle one while nothing runs in the mesh):
   * it checks this node's own clock and open suspicions, then probes the next peer. (A second
   * timer for suspicions, always on, was most of an idle node's wake-ups.)
   */
  start(): void {
    this.running = true;
    this.offChanges = this.opts.registry.onChange((e) => {
      if (e.kind === 'rejoined') return;
      this.viewChangedAt = Date.now();
      if (!this.opts.activity.busy()) {
        // Idle, a join or a death may change the watcher or this node's successor, and so its period.
        this.quicken();
        return;
      }
      // SWIM puts a new member at a random place in the current round: waiting for the next round
      // left a node that joined and died unprobed for up to a whole round. (Idle, the ring takes it
      // in at once: its predecessor's next probe goes to it.)
      if (e.kind !== 'joined') return;
      const r = this.round;
      const j = Math.floor(Math.random() * (r.length + 1));
      r.push(e.peer.id);
      [r[j], r[r.length - 1]] = [r[r.length - 1]!, r[j]!];
    });
    this.schedule(this.period());
    this.watchSuspicions();
  }

  stop(): void {
    this.running = false;
    this.offChanges?.();
    clearTimeout(this.periodTimer);
    this.periodTimer = undefined;
    this.stopExpiryTimer();
  }

  /** The period now: the busy one while anything runs in the mesh, an idle one otherwise. */
  private period(): number {
    const { timings, activity } = this.opts;
    return activity.busy() ? timings.probeIntervalMs : this.idlePeriod();
  }

  /**
   * Idle, with no watcher in the mesh, every node probes its ring successor every idle period. With
   * one, the watcher reads the connection lists every idle period (a killed node is noticed from
   * them), the watcher's own predecessor keeps probing it at that rate (nobody reads the lists for
   * the watcher), and everyone else probes at the watched period, for frozen nodes only, once the
   * view has not changed for a few periods (SETTLE_PERIODS).
   */
  private idlePeriod(): number {
    const { timings, registry } = this.opts;
    if (Date.now() - this.viewChangedAt < SETTLE_PERIODS * timings.idleProbeIntervalMs) return timings.idleProbeIntervalMs;
    const watcher = connectionWatcher(registry.list());
    if (watcher === undefined || watcher.id === this.opts.self().id || this.successor() === watcher.id) return timings.idleProbeIntervalMs;
    return timings.watchedProbeIntervalMs;
  }

  /** Whether this node is the mesh's watcher now (in its own view). */
  get watchingConnections(): boolean {
    return this.opts.connections !== undefined && connectionWatcher(this.opts.registry.list())?.id === this.opts.self().id;
  }

  /** Whether this node probes at the busy rate now (the mesh has work). */
  get busyRate(): boolean {
    return this.period() === this.opts.timings.probeIntervalMs;
  }

  private schedule(delayMs: number): void {
    this.periodDueAt = Date.now() + delayMs;
    this.periodTimer = setTimeout(this.onPeriod, delayMs);
  }

  private readonly onPeriod = (): void => {
    if (!this.running) return;
    this.opts.onPeriod?.();
    if (this.expiryTimer === undefined) this.tick(Date.now() - this.periodDueAt);
    const { activity, timings } = this.opts;
    if (activity.busy()) this.probeNext();
    else {
      const watcher = this.watchingConnections;
      if (watcher) this.readConnections();
      // The watcher probes its own successor at the watched period, like everyone else, unless it
      // cannot read the lists (cut off from NATS, say): then every idle period.
      const ringDue = Date.now() - this.ringProbedAt >= timings.watchedProbeIntervalMs - timings.idleProbeIntervalMs / 2;
      if (!watcher || this.connectionsFailing || ringDue) this.probeNext();
    }
    if (this.running) this.schedule(this.period());
  };

  /**
   * The period got shorter: the mesh turned busy (a node that runs work wants its peers watched
   * now, not in an idle period's time), or idle, the watcher or this node's successor changed. A
   * prober waiting out a longer period then waits only the new one.
   */
  quicken(): void {
    if (!this.running) return;
    const every = this.period();
    if (this.periodDueAt - Date.now() <= every) return;
    clearTimeout(this.periodTimer);
    this.schedule(every);
  }

  /**
   * A suspicion was opened (by this node or a peer): its end is checked every `tickMs` until no
   * suspicion is left open.
   */
  watchSuspicions(): void {
    if (this.expiryTimer !== undefined || !this.running || this.opts.registry.suspectCount === 0) return;
    this.expiryDueAt = Date.now() + this.tickMs;
    this.expiryTimer = setInterval(() => {
      const now = Date.now();
      const late = now - this.expiryDueAt;
      this.expiryDueAt = now + this.tickMs;
      this.tick(late);
      if (this.opts.registry.suspectCount === 0) this.stopExpiryTimer();
    }, this.tickMs);
  }

  /** Whether the suspicion timer runs (only while suspicions are open). */
  get watchingSuspicions(): boolean {
    return this.expiryTimer !== undefined;
  }

  private stopExpiryTimer(): void {
    clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  /** When the next timer of this node is due: past it by more than the lag tolerance, this node stands still. */
  private nextDueAt(): number {
    return this.expiryTimer === undefined ? this.periodDueAt : Math.min(this.periodDueAt, this.expiryDueAt);
  }

  /** Answers a probe of this node: alive, with its load and a digest of the members it knows. */
  answer(msg: Msg): void {
    const probe = ProbeSchema.safeParse(msg.data.length ? decodeJson(msg.data) : undefined);
    // A stranger probes this node: this node missed its announcement (a view pulled at join time
    // can come from a node that was itself joining). It asks the stranger for its entry, which is
    // one small request; when many are missing at once, it pulls a whole view instead (at most
    // once per four periods): a full pull per stranger's probe was most of a cold start's load.
    if (probe.success && probe.data.id !== undefined && !this.opts.registry.has(probe.data.id)) {
      const stranger = { id: probe.data.id, name: probe.data.from };
      const dropped = this.opts.registry.droppedIncarnation(stranger.id);
      if (dropped !== undefined) this.revive(stranger, dropped);
      else if (!this.opts.learn(stranger)) this.pullFrom(stranger);
    } else if (probe.success && probe.data.id !== undefined && probe.data.members && this.knowsMore(probe.data.members)) {
      // Anti-entropy the other way round: the prober knows more (or other) members than this
      // node, which pulls its view. A member whose announcement this node missed is otherwise
      // learnt only from this node's own probes of its successor, which an idle mesh sends once
      // a watched period (20 s), and not at all while the successor missed it too.
      this.pullFrom({ id: probe.data.id, name: probe.data.from });
    }
    const live = this.opts.live();
    const ack: ProbeAck = {
      type: 'wfmesh.probe.ack.v1',
      id: this.opts.self().id,
      incarnation: this.opts.incarnation(),
      state: live.state,
      load: live.load,
      memory_free_mib: live.memory_free_mib,
      members: this.opts.registry.digest(),
    };
    msg.respond(encodeJson(ack));
  }

  /**
   * A node this one declared dead probes it: it is alive, and never heard of its death (the news
   * went out through a server that stood still, or it was cut off). Its entry would be refused at
   * the incarnation it died at, so it is suspected at that incarnation: it refutes with a higher
   * one, which every node takes (this one fetches its entry again). At most once a probe period
   * per node; other nodes holding it alive see only a suspicion refuted at once.
   */
  private revive(node: { id: string; name: string }, incarnation: number): void {
    const now = Date.now();
    if (now - (this.revived.get(node.id) ?? 0) < this.opts.timings.probeIntervalMs) return;
    if (this.revived.size >= 64) this.revived.clear();
    this.revived.set(node.id, now);
    this.opts.log.info({ peer: node.name, incarnation }, 'a peer declared dead probes this node: asking it to refute');
    this.opts.publish({ type: 'wfmesh.member.v1', kind: 'suspect', id: node.id, name: node.name, incarnation, from: this.opts.self().name });
  }

  /**
   * Checks this node's own clock first (`late`: how far past due the timer that calls it fired):
   * suspicions wait while it stood still; then ends those that ran out.
   */
  private tick(late: number): void {
    const now = Date.now();
    if (late > this.opts.timings.probeTimeoutMs / 2) {
      this.lastSlowAt = now;
      this.slower();
    }
    if (late > this.opts.timings.lagToleranceMs) {
      this.lastStall = { endedAt: now, lastedMs: late };
      this.opts.registry.extendSuspicions(late);
      this.opts.log.warn({ stalled_ms: late }, 'this node stood still: its suspicions of peers wait as long');
      this.opts.onStall(late);
      return;
    }
    const { id, name } = this.opts.self();
    for (const dead of this.opts.registry.expireSuspects(now, id)) {
      this.opts.log.info({ peer: dead.name, suspected_by: dead.suspectedBy }, 'peer did not refute its suspicion: dropped');
      // Only the node that suspected it says so: a mass expiry is N messages, not N².
      if (dead.suspectedBy === name) this.opts.publish({ type: 'wfmesh.member.v1', kind: 'dead', id: dead.id, name: dead.name, incarnation: dead.incarnation, from: name });
    }
  }

  /**
   * The next peer: while the mesh is busy, the next of the round (every peer once, in a random
   * order, then a new round); while it is idle, this node's successor in the name-sorted member
   * list. A ring gives every node exactly one prober per idle period, so a dead one is probed
   * within one period (random rounds left gaps of up to three periods: at the idle rate, more than
   * the 5 s in which a killed node must leave every view and dashboard).
   */
  private nextTarget(): string | undefined {
    const { registry } = this.opts;
    if (!this.opts.activity.busy()) return this.successor();
    const selfId = this.opts.self().id;
    for (let tries = 0; tries < 2; tries++) {
      while (this.round.length) {
        const id = this.round.pop()!;
        if (id !== selfId && registry.has(id)) return id;
      }
      this.round = registry.list().map((p) => p.id);
      for (let i = this.round.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [this.round[i], this.round[j]] = [this.round[j]!, this.round[i]!];
      }
    }
    return undefined;
  }

  /** The member after this node in the name-sorted list (wrapping around); undefined when alone. */
  private successor(): string | undefined {
    const peers = this.opts.registry.list();
    const { id, name } = this.opts.self();
    let first: string | undefined;
    for (const p of peers) {
      if (p.id === id) continue;
      first ??= p.id;
      if (p.name > name) return p.id;
    }
    return first;
  }

  private probeNext(): void {
    const { nc, registry, timings } = this.opts;
    if (nc.isClosed()) return;
    this.opts.refreshSelf();
    const id = this.nextTarget();
    if (!this.opts.activity.busy()) this.ringProbedAt = Date.now();
    if (id === undefined) {
      // Alone so far (the first node, or a view taken from a node that had just started): look again.
      if (Date.now() - this.lastSyncAt > 4 * timings.probeIntervalMs) {
        this.lastSyncAt = Date.now();
        void this.opts.resync().catch(() => undefined);
      }
      return;
    }
    this.probe(registry.get(id)!, false);
  }

  /**
   * The watcher's read of the servers' connection lists: every member the servers hold no
   * connection for is probed now. A killed node's probe meets "no responders", which suspects it
   * at once, without a second try; a member that answers was only moving to another server.
   */
  private readConnections(): void {
    const { connections, registry, log } = this.opts;
    if (connections === undefined || this.readingConnections) return;
    this.readingConnections = true;
    connections.read().then(
      (census) => {
        this.readingConnections = false;
        if (this.connectionsFailing) log.info("reading the servers' connection lists again");
        this.connectionsFailing = false;
        if (census === undefined || !this.running || this.opts.nc.isClosed()) return;
        const missing = unconnectedMembers(census, registry.list(), this.opts.self().id).filter((p) => !registry.isSuspected(p.id));
        for (const peer of missing.slice(0, MAX_WATCH_PROBES)) this.probe(peer, false);
      },
      (err: Error) => {
        this.readingConnections = false;
        if (!this.connectionsFailing) log.warn({ err: err.message }, "cannot read the servers' connection lists: a killed node is noticed by the ring's probes only");
        this.connectionsFailing = true;
      },
    );
  }

  /** Probes `peer`; a second try (`again`) follows a first that went unanswered. */
  private probe(peer: { id: string; name: string }, again: boolean): void {
    const { nc, timings } = this.opts;
    const sentAt = Date.now();
    const self = this.opts.self();
    // Idle, a first probe waits a whole period for its answer: its deadline then falls in the same
    // wake-up as the next period (Node fires timers of one duration set in one callback together),
    // where a 500 ms deadline cost an idle node a wake-up of its own per probe. A killed node's
    // probe still fails at once (no responders); a frozen one is found a period later.
    const timeout = again || this.opts.activity.busy() ? timings.probeTimeoutMs * this.health : this.period();
    Requester.for(nc)
      .request(subjects.probe(peer.name, peer.id), encodeJson({ type: 'wfmesh.probe.v1', from: self.name, id: self.id, members: this.opts.registry.digest() }), { timeout })
      .then(
        (msg) => this.acked(peer, decodeJson(msg.data), Date.now() - sentAt),
        (err: { code?: string }) => this.unanswered(peer, sentAt, timeout, again, err.code === ErrorCode.NoResponders ? 'nobody listens on its probe subject' : undefined),
      );
  }

  /** This node looks slow (late timers, slow answers, suspected itself): it gives its peers more time. */
  slower(): void {
    this.quickAcks = 0;
    if (this.health < MAX_HEALTH) this.setHealth(this.health + 1);
  }

  private setHealth(h: number): void {
    this.health = h;
    this.opts.registry.suspicionScale = h;
  }

  private acked(peer: { id: string; name: string }, data: unknown, rttMs: number): void {
    const ack = ProbeAckSchema.safeParse(data);
    if (!ack.success || ack.data.id !== peer.id) return this.unanswered(peer, Date.now(), 0, true, 'a malformed probe answer');
    if (rttMs > this.opts.timings.probeTimeoutMs / 2) this.slower();
    else if (++this.quickAcks >= 4 && this.health > 1) {
      this.quickAcks = 0;
      this.setHealth(this.health - 1);
    }
    const now = Date.now();
    this.opts.registry.heardFrom(peer.id, now, ack.data);
    // Anti-entropy: a peer that knows more (or other) members is asked for its view, now and then.
    if (this.knowsMore(ack.data.members)) this.pullFrom(peer);
  }

  /** Whether a node with digest `theirs` knows more members than this one, or as many but others. */
  private knowsMore(theirs: MembersDigest): boolean {
    const mine = this.opts.registry.digest();
    return (theirs.count !== mine.count || theirs.hash !== mine.hash) && theirs.count >= mine.count;
  }

  /** Pulls `peer`'s view into this node's, at most once per four busy periods (a pull is a whole view). */
  private pullFrom(peer: { id: string; name: string }): void {
    const now = Date.now();
    if (now - this.lastSyncAt <= 4 * this.opts.timings.probeIntervalMs) return;
    this.lastSyncAt = now;
    void this.opts.resync(peer).catch(() => undefined);
  }

  private unanswered(peer: { id: string; name: string }, sentAt: number, timeoutMs: number, again: boolean, why = 'no answer to a probe'): void {
    const { registry, timings, nc } = this.opts;
    const now = Date.now();
    const sure = why === 'nobody listens on its probe subject';
    if (nc.isClosed() || !registry.has(peer.id)) return;
    // Lifeguard's self-awareness: a probe that spanned a stall of this node, or a node whose own
    // timers run late, proves nothing about the peer.
    if (now - sentAt > timeoutMs + timings.lagToleranceMs) return;
    if (now - this.lastStall.endedAt < timings.probeTimeoutMs + timings.lagToleranceMs) return;
    if (now - this.nextDueAt() > timings.lagToleranceMs) return; // a stall not yet ticked
    // Unanswered twice: perhaps this node's own server is what stands still. Without its PONG
    // within the dead timeout, this node moves to another server (and rejoins from there).
    if (!sure && again) this.serverCheck.check(timings.deadAfterMs, timings.lagToleranceMs);
    if (!sure && now - this.lastSlowAt < timings.probeTimeoutMs + timings.lagToleranceMs) return;
    const self = this.opts.self();
    if (!sure && !again && !registry.isSuspected(peer.id)) return this.probe(peer, true);
    // Already suspected: confirm it (which shortens its period) unless enough nodes have.
    if (registry.isSuspectedBy(peer.id, self.name)) return;
    if (registry.isSuspected(peer.id) && registry.suspectedByCount(peer.id) > registry.suspicion.expected(registry.size) && !sure) return;
    const incarnation = registry.incarnationOf(peer.id) ?? 0;
    const change = registry.suspect(peer.id, incarnation, now, self.name, sure);
    if (!change) return;
    this.watchSuspicions();
    this.opts.log.info({ peer: peer.name, why, confirms: change === 'confirmed' }, 'peer suspected');
    this.opts.publish({ type: 'wfmesh.member.v1', kind: 'suspect', id: peer.id, name: peer.name, incarnation, from: self.name, ...(sure && { sure }) });
  }
}
