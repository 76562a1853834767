/**
 * Placement and mass expiry on large registries, in process: what one step's placement costs
 * over 1,000 and 10,000 peers (the cached path every step takes, and the first step after a
 * membership change), against ranking every eligible peer as placement did before; and how
 * long dropping a quarter of the mesh at once takes, with a listener reading the list per event
 * (as the execution service does).
 */
import { EligibilityCache, eligiblePeers, placementOrder, rankPeers, type PlacementNeed } from '../src/mesh/placement.js';
import { PeerRegistry } from '../src/mesh/registry.js';
import type { NodeCapabilities } from '../src/protocol/advert.js';

const REGIONS = ['eu-west', 'eu-north', 'us-east', 'ap-south'];

function caps(i: number): NodeCapabilities {
  return {
    id: `ID${i.toString(36).padStart(8, '0')}`,
    name: `node-${String(i).padStart(5, '0')}`,
    version: '0.1.0',
    region: REGIONS[i % REGIONS.length]!,
    labels: { tier: i % 3 ? 'std' : 'fast' },
    cpu: { cores: 16, model: 'cpu' },
    memory: { total_mib: 64_000 },
    gpus: i % 10 === 0 ? [{ vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81_559 }] : [],
    tools: ['filesystem', 'http', 'transform', 'echo', 'sleep'],
    models: [],
    mcp_url: null,
    http_url: null,
    started_at: new Date(0).toISOString(),
  };
}

function registryOf(n: number): PeerRegistry {
  const r = new PeerRegistry();
  for (let i = 0; i < n; i++) {
    r.alive(caps(i), 0, 'RUNNING', 0);
    r.heardFrom(caps(i).id, 0, { incarnation: 0, state: 'RUNNING', load: { inflight: i % 7, max_concurrency: 8, cpu_pct: i % 100 }, memory_free_mib: 1_000 });
  }
  return r;
}

function timeUs(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(1_000, iterations); i++) fn(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Math.round((Number(process.hrtime.bigint() - start) / 1_000 / iterations) * 100) / 100;
}

function placementAt(n: number): Record<string, number> {
  const registry = registryOf(n);
  const selfId = caps(1).id;
  const needs: Record<string, PlacementNeed> = {
    any_echo: { tool_type: 'echo' },
    eu_gpu: { tool_type: 'echo', requires: { region: 'eu-*', gpu: true } },
    prefer_fast: { tool_type: 'echo', requires: { prefer: { labels: { tier: 'fast' } } } },
  };
  const inflight = new Map<string, number>();
  const out: Record<string, number> = {};
  for (const [label, need] of Object.entries(needs)) {
    const cache = new EligibilityCache(selfId);
    // The cached path: what every step pays between membership changes.
    out[`${label}_us`] = timeUs(20_000, () => {
      const c = cache.get(registry.list(), registry.version, need);
      placementOrder(c.result.eligible, need, inflight, { self: c.self, preferred: c.preferred }).next();
    });
  }
  // The first step after a membership change: eligibility worked out again over the whole mesh.
  let version = registry.version;
  const cache = new EligibilityCache(selfId);
  out.after_change_us = timeUs(200, () => {
    const c = cache.get(registry.list(), ++version, needs.any_echo!);
    placementOrder(c.result.eligible, needs.any_echo!, inflight, { self: c.self }).next();
  });
  // As before: every eligible peer filtered and ranked for every step.
  out.rank_all_us = timeUs(200, () => {
    rankPeers(eligiblePeers(registry.list(), needs.any_echo!).eligible, needs.any_echo!, inflight, Math.random, selfId);
  });
  return out;
}

function massExpiryMs(n: number): number {
  const registry = registryOf(n);
  let reads = 0;
  registry.onChange((e) => {
    if (e.kind === 'left') reads += registry.list().length; // what a listener that reads the list pays
  });
  const now = 2_000;
  for (let i = 0; i < n; i += 4) registry.suspect(caps(i).id, 0, 0, 'bench', true);
  const start = process.hrtime.bigint();
  registry.expireSuspects(now);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (reads === 0) throw new Error('no peer expired');
  return Math.round(ms * 100) / 100;
}

export function measurePlacement(): Record<string, unknown> {
  return {
    peers_1000: placementAt(1_000),
    peers_10000: placementAt(10_000),
    mass_expiry_quarter_ms: { peers_1000: massExpiryMs(1_000), peers_10000: massExpiryMs(10_000) },
  };
}

if (process.argv[1]?.endsWith('scale-placement.ts')) process.stdout.write(`${JSON.stringify(measurePlacement(), null, 2)}\n`);
