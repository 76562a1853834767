import type { Advertisement, Load, NodeCapabilities, NodeState } from '../protocol/advert.js';
import { isoTime } from '../protocol/iso-time.js';
import type { MembersDigest } from '../protocol/membership.js';
import { Suspicion, suspicionPolicy, type SuspicionPolicy } from './suspicion.js';
import { fnv1a, insertSorted, pageOf, type PageQuery, type Page } from './sorted-peers.js';

export type PeerEvent =
  | { kind: 'joined'; peer: Advertisement }
  | { kind: 'left'; id: string; name: string; reason: 'dead' | 'stopped' }
  /**
   * A known peer speaks under a higher incarnation: it reconnected to NATS (or refuted a
   * suspicion). What was on the wire to or from it meanwhile may be lost with a server.
   */
  | { kind: 'rejoined'; id: string; name: string; incarnation: number };

interface PeerEntry {
  /** The object list() hands out: load, state and last_seen are updated in place. */
  ad: Advertisement;
  incarnation: number;
  lastSeenMs: number;
  suspect?: Suspicion;
  /** Its load and free memory came from the node itself (a probe's answer, its announcement); until then they are placeholders. */
  heardLive?: boolean;
}

/** How long a dead or departed id is remembered, so that a stale announcement cannot bring it back. */
const TOMBSTONE_MS = 60_000;

export interface ExpiredPeer {
  id: string;
  name: string;
  incarnation: number;
  suspectedBy: string;
}

const IDLE_LOAD: Load = { inflight: 0, max_concurrency: 1, cpu_pct: 0 };

/**
 * Field by field, in one order: objects built by spreading and overriding fall into V8's slow
 * dictionary mode, which made every constraint check of placement ten times dearer.
 */
function toAdvertisement(caps: NodeCapabilities, state: NodeState, incarnation: number, nowMs: number): Advertisement {
  const memory: Advertisement['memory'] = { total_mib: caps.memory.total_mib, free_mib: 0 };
  if (caps.memory.declared !== undefined) memory.declared = caps.memory.declared;
  const ad: Advertisement = {
    id: caps.id,
    name: caps.name,
    version: caps.version,
    region: caps.region,
    labels: caps.labels,
    cpu: caps.cpu,
    memory,
    gpus: caps.gpus,
    tools: caps.tools,
    models: caps.models,
    mcp_url: caps.mcp_url,
    http_url: caps.http_url,
    started_at: caps.started_at,
    state,
    load: { ...IDLE_LOAD },
    last_seen: isoTime(nowMs),
    incarnation,
  };
  if (caps.os) ad.os = caps.os;
  if (caps.watches_connections) ad.watches_connections = true;
  if (caps.takes_step_batches) ad.takes_step_batches = true;
  return ad;
}

/**
 * The peers this node knows. Pure bookkeeping (the clock is passed in; NATS lives in
 * membership.ts). The sorted peer list is kept up to date change by change: a join is one
 * binary-search insert, a mass expiry one filter pass, and a load update touches one object.
 * The array list() returns is replaced on every membership change, never mutated, so a caller may
 * hold it across an await.
 */
export class PeerRegistry {
  private readonly peers = new Map<string, PeerEntry>();
  private sorted: Advertisement[] = [];
  private readonly tombstones = new Map<string, { incarnation: number; atMs: number }>();
  /** Ids with an open suspicion: expiry looks at these only, not at the whole mesh. */
  private readonly suspects = new Set<string>();
  /** This node's own health multiplier (1 when healthy): a slow node gives suspects longer. */
  suspicionScale = 1;
  private readonly listeners = new Set<(e: PeerEvent) => void>();
  private digestHash = 0;
  /** How long suspects have to refute (set by membership from the node's timings). */
  suspicion: SuspicionPolicy = suspicionPolicy(2_000);
  /** Raised on every change that placement cares about (a join, a leave, a state or capability change); not on load. */
  version = 0;

  onChange(listener: (e: PeerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: PeerEvent): void {
    for (const l of this.listeners) l(e);
  }

  /**
   * A node announced itself alive (join, rejoin, refutation or state change). Returns false when
   * the announcement is stale: an older incarnation than known, or one of a node declared dead.
   */
  alive(caps: NodeCapabilities, incarnation: number, state: NodeState, nowMs: number): boolean {
    const entry = this.peers.get(caps.id);
    if (entry) {
      if (caps.name !== entry.ad.name) return false; // an id speaks under one name only
      if (incarnation < entry.incarnation) return false;
      if (entry.suspect && incarnation > entry.suspect.incarnation) this.clearSuspicion(caps.id, entry);
      const rejoined = incarnation > entry.incarnation;
      entry.incarnation = incarnation;
      entry.lastSeenMs = nowMs;
      entry.ad.last_seen = isoTime(nowMs);
      entry.ad.incarnation = incarnation;
      // An id is one process: its capabilities do not change, its state may.
      if (entry.ad.state !== state) {
        entry.ad.state = state;
        this.version++;
      }
      if (rejoined) this.emit({ kind: 'rejoined', id: caps.id, name: caps.name, incarnation });
      return true;
    }
    const dead = this.tombstones.get(caps.id);
    if (dead && incarnation <= dead.incarnation) return false;
    this.tombstones.delete(caps.id);
    const ad = toAdvertisement(caps, state, incarnation, nowMs);
    this.peers.set(caps.id, { ad, incarnation, lastSeenMs: nowMs });
    this.sorted = insertSorted(this.sorted, ad);
    this.digestHash ^= fnv1a(caps.id);
    this.version++;
    this.emit({ kind: 'joined', peer: ad });
    return true;
  }

  /** Whether an announcement of `id` at `incarnation` would add or update something here. */
  /** The incarnation at which `id` was dropped (dead or departed), while it is remembered. */
  droppedIncarnation(id: string): number | undefined {
    return this.tombstones.get(id)?.incarnation;
  }

  wouldTake(id: string, incarnation: number): boolean {
    const known = this.peers.get(id);
    if (known) return incarnation > known.incarnation;
    const dead = this.tombstones.get(id);
    return !dead || incarnation > dead.incarnation;
  }

  /** Direct evidence that a peer is alive (it answered a probe or a step): fresher load, no local suspicion. */
  heardFrom(id: string, nowMs: number, live?: { incarnation: number; state: NodeState; load: Load; memory_free_mib: number }): void {
    const entry = this.peers.get(id);
    if (!entry) return;
    entry.lastSeenMs = nowMs;
    entry.ad.last_seen = isoTime(nowMs);
    if (!live) return;
    entry.heardLive = true;
    if (entry.suspect && live.incarnation >= entry.suspect.incarnation) this.clearSuspicion(id, entry);
    // A refutation this node missed: its next suspicion of the peer must name the current incarnation.
    const rejoined = live.incarnation > entry.incarnation;
    if (rejoined) {
      entry.incarnation = live.incarnation;
      entry.ad.incarnation = live.incarnation;
    }
    entry.ad.load = live.load;
    entry.ad.memory.free_mib = live.memory_free_mib;
    if (live.incarnation >= entry.incarnation && live.state !== entry.ad.state) {
      entry.ad.state = live.state;
      this.version++;
    }
    if (rejoined) this.emit({ kind: 'rejoined', id, name: entry.ad.name, incarnation: live.incarnation });
  }

  /** This node's own live figures (read by placement and the view). */
  setOwnLoad(id: string, state: NodeState, load: Load, memoryFreeMib: number, nowMs: number): void {
    const entry = this.peers.get(id);
    if (!entry) return;
    entry.ad.load = load;
    entry.ad.memory.free_mib = memoryFreeMib;
    entry.heardLive = true;
    entry.lastSeenMs = nowMs;
    // What views show (`wfmesh nodes`, the dashboard): a node's own entry is seen now, not when it last changed state.
    entry.ad.last_seen = isoTime(nowMs);
    if (entry.ad.state !== state) {
      entry.ad.state = state;
      this.version++;
    }
  }

  /**
   * Load and free memory as another node's view tells them (second hand), for an entry that has
   * nothing better than placeholders: a member learnt from a view shows its real concurrency and
   * memory until the node itself is heard from, not `0/1` and 0 MiB free.
   */
  seedLive(id: string, load: Load, memoryFreeMib: number): void {
    const entry = this.peers.get(id);
    if (!entry || entry.heardLive) return;
    entry.ad.load = load;
    entry.ad.memory.free_mib = memoryFreeMib;
  }

  /**
   * Records that `from` suspects a peer: a new suspicion period, or one more confirmation of the
   * open one (which shortens it). Returns what changed: `new`, `confirmed`, or false.
   */
  suspect(id: string, incarnation: number, nowMs: number, from: string, sure = false): 'new' | 'confirmed' | false {
    const entry = this.peers.get(id);
    if (!entry || incarnation < entry.incarnation) return false;
    if (entry.suspect && entry.suspect.incarnation >= incarnation) return entry.suspect.confirm(from, sure) ? 'confirmed' : false;
    entry.suspect = new Suspicion(incarnation, from, nowMs, sure);
    this.suspects.add(id);
    return 'new';
  }

  private clearSuspicion(id: string, entry: PeerEntry): void {
    delete entry.suspect;
    this.suspects.delete(id);
  }

  /** Peers with an open suspicion. */
  get suspectCount(): number {
    return this.suspects.size;
  }

  /** How many nodes suspect `id` now (0 when it is not suspected). */
  suspectedByCount(id: string): number {
    return this.peers.get(id)?.suspect?.by.size ?? 0;
  }

  /** Whether `node` is among those that suspect `id`. */
  isSuspectedBy(id: string, node: string): boolean {
    return this.peers.get(id)?.suspect?.by.has(node) ?? false;
  }

  isSuspected(id: string): boolean {
    return this.peers.get(id)?.suspect !== undefined;
  }

  incarnationOf(id: string): number | undefined {
    return this.peers.get(id)?.incarnation;
  }

  /**
   * This node stood still for `ms` (frozen, starved): it did not hear the refutations that may
   * have arrived meanwhile, so every suspicion period is pushed back by as much.
   */
  extendSuspicions(ms: number): void {
    for (const id of this.suspects) this.peers.get(id)?.suspect?.extend(ms);
  }

  /** Drops one peer (a goodbye, or a death announced by another node). Stale incarnations are ignored. */
  remove(id: string, reason: 'dead' | 'stopped', incarnation?: number, nowMs = Date.now()): void {
    const entry = this.peers.get(id);
    if (!entry || (incarnation !== undefined && incarnation < entry.incarnation)) return;
    this.removeMany([id], reason, nowMs);
  }

  /** Suspicions whose period ran out: the peers are dropped in one pass. Returns who they were and who suspected them. */
  expireSuspects(nowMs: number, keepId?: string): ExpiredPeer[] {
    const dead: ExpiredPeer[] = [];
    for (const id of this.suspects) {
      const entry = this.peers.get(id);
      if (!entry?.suspect) {
        this.suspects.delete(id);
        continue;
      }
      if (id !== keepId && entry.suspect.deadline(this.suspicion, this.peers.size, this.suspicionScale) <= nowMs) dead.push({ id, name: entry.ad.name, incarnation: entry.suspect.incarnation, suspectedBy: entry.suspect.from });
    }
    if (dead.length) this.removeMany(dead.map((d) => d.id), 'dead', nowMs);
    if (this.tombstones.size) for (const [id, t] of this.tombstones) if (nowMs - t.atMs > TOMBSTONE_MS) this.tombstones.delete(id);
    return dead;
  }

  private removeMany(ids: readonly string[], reason: 'dead' | 'stopped', nowMs: number): void {
    const gone: PeerEntry[] = [];
    for (const id of ids) {
      const entry = this.peers.get(id);
      if (!entry) continue;
      this.peers.delete(id);
      this.suspects.delete(id);
      this.tombstones.set(id, { incarnation: entry.incarnation, atMs: nowMs });
      this.digestHash ^= fnv1a(id);
      gone.push(entry);
    }
    if (!gone.length) return;
    const goneIds = new Set(gone.map((e) => e.ad.id));
    this.sorted = this.sorted.filter((p) => !goneIds.has(p.id));
    this.version++;
    for (const e of gone) this.emit({ kind: 'left', id: e.ad.id, name: e.ad.name, reason });
  }

  has(id: string): boolean {
    return this.peers.has(id);
  }

  get(id: string): Advertisement | undefined {
    return this.peers.get(id)?.ad;
  }

  /** Live peers (this node included), sorted by name then id. Never mutated: replaced on change. */
  list(): readonly Advertisement[] {
    return this.sorted;
  }

  /** One page of the sorted list, filtered by region and labels. */
  page(query: PageQuery): Page {
    return pageOf(this.sorted, query);
  }

  get size(): number {
    return this.peers.size;
  }

  /** Count and order-independent hash of the member ids: equal digests, same members. */
  digest(): MembersDigest {
    return { count: this.peers.size, hash: this.digestHash >>> 0 };
  }

  /** Milliseconds since this node last heard from or about `id` (Infinity when unknown). */
  silentForMs(id: string, nowMs: number): number {
    const entry = this.peers.get(id);
    return entry ? nowMs - entry.lastSeenMs : Infinity;
  }
}
