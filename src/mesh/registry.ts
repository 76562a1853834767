import type { Advertisement, Heartbeat, NodeCapabilities } from '../protocol/advert.js';

export type PeerEvent =
  | { kind: 'joined'; peer: Advertisement }
  | { kind: 'left'; id: string; name: string; reason: 'dead' | 'stopped' };

interface PeerEntry {
  caps: NodeCapabilities;
  heartbeat?: Heartbeat;
  lastSeenMs: number;
}

/**
 * The peers this node knows, built from service info (capabilities) and heartbeats (live load).
 * Pure bookkeeping: the clock is passed in, and NATS lives in membership.ts.
 */
export class PeerRegistry {
  private readonly peers = new Map<string, PeerEntry>();
  /** Heartbeats from ids whose capabilities we have not fetched yet. */
  private readonly pending = new Map<string, { heartbeat: Heartbeat; atMs: number }>();
  private readonly listeners = new Set<(e: PeerEvent) => void>();
  /** list() is on the dispatch hot path: built once per change, not once per step. */
  private cachedList: Advertisement[] | undefined;

  constructor(readonly deadAfterMs: number) {}

  onChange(listener: (e: PeerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.cachedList = undefined;
  }

  private emit(e: PeerEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Records a heartbeat; returns false when the sender's capabilities are still unknown. */
  heartbeat(hb: Heartbeat, nowMs: number): boolean {
    // An id speaks under one name only: a heartbeat naming another (a forged STOPPED) is ignored.
    const known = this.peers.get(hb.id);
    if (known && known.caps.name !== hb.name) return true;
    if (hb.state === 'STOPPED') {
      this.pending.delete(hb.id);
      this.remove(hb.id, 'stopped');
      return true;
    }
    const entry = this.peers.get(hb.id);
    if (!entry) {
      this.pending.set(hb.id, { heartbeat: hb, atMs: nowMs });
      return false;
    }
    if (entry.heartbeat && hb.seq < entry.heartbeat.seq && hb.seq !== 0) return true; // out of order
    if (entry.heartbeat !== hb) this.changed();
    entry.heartbeat = hb;
    entry.lastSeenMs = nowMs;
    return true;
  }

  /** Adds or refreshes a peer's capabilities (from `$SRV.INFO`). */
  upsert(caps: NodeCapabilities, nowMs: number): void {
    const known = this.peers.get(caps.id);
    const pending = this.pending.get(caps.id);
    this.pending.delete(caps.id);
    const entry: PeerEntry = {
      caps,
      heartbeat: known?.heartbeat ?? pending?.heartbeat,
      lastSeenMs: Math.max(known?.lastSeenMs ?? 0, pending?.atMs ?? 0, nowMs),
    };
    this.peers.set(caps.id, entry);
    this.changed();
    if (!known) this.emit({ kind: 'joined', peer: this.toAdvertisement(entry) });
  }

  remove(id: string, reason: 'dead' | 'stopped'): void {
    const entry = this.peers.get(id);
    if (!entry) return;
    this.peers.delete(id);
    this.changed();
    this.emit({ kind: 'left', id, name: entry.caps.name, reason });
  }

  /** Drops peers silent for longer than deadAfterMs; returns their ids. */
  expire(nowMs: number, keepId?: string): string[] {
    const dead: string[] = [];
    for (const [id, entry] of this.peers) {
      if (id !== keepId && nowMs - entry.lastSeenMs > this.deadAfterMs) dead.push(id);
    }
    for (const id of dead) this.remove(id, 'dead');
    for (const [id, p] of this.pending) if (nowMs - p.atMs > this.deadAfterMs) this.pending.delete(id);
    return dead;
  }

  has(id: string): boolean {
    return this.peers.has(id);
  }

  get(id: string): Advertisement | undefined {
    const entry = this.peers.get(id);
    return entry ? this.toAdvertisement(entry) : undefined;
  }

  /** Live peers, sorted by name. The array is shared until the next change: do not mutate it. */
  list(): readonly Advertisement[] {
    this.cachedList ??= [...this.peers.values()].map((e) => this.toAdvertisement(e)).sort((a, b) => a.name.localeCompare(b.name));
    return this.cachedList;
  }

  get size(): number {
    return this.peers.size;
  }

  private toAdvertisement(entry: PeerEntry): Advertisement {
    const { caps, heartbeat } = entry;
    return {
      ...caps,
      memory: { ...caps.memory, free_mib: heartbeat?.memory_free_mib ?? 0 },
      state: heartbeat?.state ?? 'RUNNING',
      load: heartbeat?.load ?? { inflight: 0, max_concurrency: 1, cpu_pct: 0 },
      last_seen: new Date(entry.lastSeenMs).toISOString(),
    };
  }
}
