import type { Advertisement, Gpu } from '../protocol/advert.js';
import type { Requires } from '../protocol/step.js';

/** What a step needs from the node that runs it: its `requires` plus what its task implies. */
export interface PlacementNeed {
  requires?: Requires;
  /** The tool type the step calls (the node must offer it). */
  tool_type?: string;
  /** The model an agent step calls (the node must advertise it). */
  model?: string;
}

interface Constraint {
  /** How the constraint reads in an "infeasible" error, e.g. `requires.region = eu-west` (built only for that error). */
  label: () => string;
  ok: (peer: Advertisement) => boolean;
}

const asList = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

/** `eu-*` matches `eu-west`; anything else matches exactly. */
export function regionMatches(region: string, pattern: string): boolean {
  return pattern.endsWith('*') ? region.startsWith(pattern.slice(0, -1)) : region === pattern;
}

function gpuMatches(gpu: Gpu, want: Exclude<Requires['gpu'], boolean | undefined>): boolean {
  if (want.vendor && gpu.vendor.toLowerCase() !== want.vendor.toLowerCase()) return false;
  if (want.model && !gpu.model.toLowerCase().includes(want.model.toLowerCase())) return false;
  if (want.min_vram_mib !== undefined && gpu.vram_mib < want.min_vram_mib) return false;
  return true;
}

/** Every hard constraint of a need, each with a readable label. Pure. */
export function hardConstraints(need: PlacementNeed): Constraint[] {
  const r = need.requires ?? {};
  const out: Constraint[] = [];
  // A pinned step is checked first: on a large mesh every other peer then fails at its first test.
  if (r.node !== undefined) {
    const node = r.node;
    out.push({ label: () => `requires.node = ${node}`, ok: (p) => p.name === node || p.id === node });
  }
  out.push({ label: () => 'a running node', ok: (p) => p.state === 'RUNNING' });
  if (r.gpu === true) out.push({ label: () => 'requires.gpu', ok: (p) => p.gpus.length > 0 });
  else if (r.gpu && typeof r.gpu === 'object') {
    const want = r.gpu;
    const count = want.count ?? 1;
    const parts = [
      `count >= ${count}`,
      want.vendor ? `vendor ${want.vendor}` : '',
      want.model ? `model ~ "${want.model}"` : '',
      want.min_vram_mib !== undefined ? `vram >= ${want.min_vram_mib} MiB` : '',
    ].filter(Boolean);
    out.push({ label: () => `requires.gpu (${parts.join(', ')})`, ok: (p) => p.gpus.filter((g) => gpuMatches(g, want)).length >= count });
  }
  if (r.region !== undefined) {
    const regions = asList(r.region);
    out.push({ label: () => `requires.region = ${regions.join(' | ')}`, ok: (p) => regions.some((want) => regionMatches(p.region, want)) });
  }
  if (r.min_memory_mib !== undefined) {
    const min = r.min_memory_mib;
    out.push({ label: () => `requires.min_memory_mib >= ${min}`, ok: (p) => p.memory.total_mib >= min });
  }
  if (r.min_cpus !== undefined) {
    const min = r.min_cpus;
    out.push({ label: () => `requires.min_cpus >= ${min}`, ok: (p) => p.cpu.cores >= min });
  }
  for (const [k, v] of Object.entries(r.labels ?? {})) {
    out.push({ label: () => `requires.labels.${k} = ${v}`, ok: (p) => p.labels[k] === v });
  }
  if (need.tool_type !== undefined) {
    const tool = need.tool_type;
    out.push({ label: () => `offers tool "${tool}"`, ok: (p) => p.tools.includes(tool) });
  }
  if (need.model !== undefined) {
    const model = need.model;
    out.push({ label: () => `serves model "${model}"`, ok: (p) => p.models.includes(model) });
  }
  return out;
}

/** A dispatcher asks again with the same need while it retries: build its constraints once. */
const constraintsByNeed = new WeakMap<PlacementNeed, Constraint[]>();

export type Eligibility = { eligible: Advertisement[]; unmet?: undefined } | { eligible: []; unmet: string };

/**
 * The peers that meet every hard constraint. When none does, `unmet` names the constraint(s) no
 * live node meets — or, when each is met by some node, says that no single node meets them all.
 */
export function eligiblePeers(peers: readonly Advertisement[], need: PlacementNeed): Eligibility {
  let constraints = constraintsByNeed.get(need);
  if (!constraints) {
    constraints = hardConstraints(need);
    constraintsByNeed.set(need, constraints);
  }
  const eligible = peers.filter((p) => constraints.every((c) => c.ok(p)));
  if (eligible.length > 0) return { eligible };
  if (peers.length === 0) return { eligible: [], unmet: 'no live node in the mesh' };
  const neverMet = constraints.filter((c) => !peers.some((p) => c.ok(p)));
  if (neverMet.length > 0) {
    return { eligible: [], unmet: `no live node meets ${neverMet.map((c) => c.label()).join(' and ')} (live nodes: ${describe(peers)})` };
  }
  return {
    eligible: [],
    unmet: `no single live node meets all of ${constraints.map((c) => c.label()).join(', ')} (live nodes: ${describe(peers)})`,
  };
}

function describe(peers: readonly Advertisement[]): string {
  return peers
    .slice(0, 8)
    .map((p) => `${p.name}@${p.region}${p.gpus.length ? ` ${p.gpus.length}gpu` : ''}`)
    .join(', ') + (peers.length > 8 ? `, +${peers.length - 8} more` : '');
}

/** Less than the load of one in-flight step at any max concurrency up to 40. */
const LOCALITY_BONUS = 0.025;

/**
 * Orders eligible peers, best first: lowest load (in-flight / max concurrency, then CPU), soft
 * `prefer` as a bonus, and a little randomness so equal peers share a burst instead of herding.
 * `localInflight` is what this dispatcher itself has in flight per peer id (fresher than heartbeats);
 * `selfId`, the dispatcher's own node, wins ties.
 */
export function rankPeers(
  eligible: readonly Advertisement[],
  need: PlacementNeed,
  localInflight: ReadonlyMap<string, number>,
  random: () => number = Math.random,
  selfId?: string,
): Advertisement[] {
  const prefer = need.requires?.prefer;
  const preferRegions = prefer?.region === undefined ? [] : asList(prefer.region);
  const scored = eligible.map((p) => {
    const inflight = Math.max(p.load.inflight, localInflight.get(p.id) ?? 0);
    let score = inflight / Math.max(1, p.load.max_concurrency) + 0.1 * (p.load.cpu_pct / 100);
    if (preferRegions.some((r) => regionMatches(p.region, r))) score -= 0.5;
    for (const [k, v] of Object.entries(prefer?.labels ?? {})) if (p.labels[k] === v) score -= 0.25;
    // Locality breaks ties (no network hop), but is worth less than one step of load, so a
    // burst still spreads once this node has one step in flight.
    if (p.id === selfId) score -= LOCALITY_BONUS;
    return { p, score: score + random() * 0.01 };
  });
  scored.sort((a, b) => a.score - b.score);
  return scored.map((s) => s.p);
}

/** Eligible peers of one need, worked out once per membership change (load changes do not count). */
export interface CachedEligibility {
  readonly result: Eligibility;
  /** The eligible peers that meet the soft `prefer` too (undefined when the need prefers nothing). */
  readonly preferred: readonly Advertisement[] | undefined;
  /** The cache's own node, when it is eligible. */
  readonly self: Advertisement | undefined;
}

/**
 * Placement's memory between steps: the eligible peers of each need, kept until the registry's
 * version changes. A step then costs a lookup and a few random picks, not a pass over the mesh.
 * The lookup builds no string per step: a need's `requires` is looked up by its text (worked out
 * once per object), then its tool type or model.
 */
export class EligibilityCache {
  /** By the text of `requires` ('' for none). */
  private readonly tables = new Map<string, NeedTable>();
  /** How many needs are remembered, all tables together: past `maxNeeds` the cache starts over. */
  private size = 0;

  constructor(
    /** The dispatching node: placement compares it with the picks (it costs no network hop). */
    private readonly selfId?: string,
    private readonly maxNeeds = 512,
  ) {}

  get(peers: readonly Advertisement[], version: number, need: PlacementNeed): CachedEligibility {
    const text = need.requires ? requiresTextOf(need.requires) : '';
    let table = this.tables.get(text);
    const hit = table?.find(need);
    if (hit && hit.version === version && hit.peers === peers) return hit;
    const result = eligiblePeers(peers, need);
    const prefer = need.requires?.prefer;
    const preferred = prefer && (prefer.region !== undefined || Object.keys(prefer.labels ?? {}).length)
      ? result.eligible.filter((p) => preferenceBonus(p, need) > 0)
      : undefined;
    if (!hit) {
      if (this.size >= this.maxNeeds) {
        this.tables.clear();
        this.size = 0;
        table = undefined;
      }
      this.size++;
    }
    if (!table) this.tables.set(text, (table = new NeedTable()));
    const self = this.selfId === undefined ? undefined : result.eligible.find((p) => p.id === this.selfId);
    const entry = { version, peers, result, preferred, self };
    table.set(need, entry);
    return entry;
  }
}

/** A workflow step's `requires` is one object for all its runs: its text is worked out once. */
const requiresText = new WeakMap<object, string>();

function requiresTextOf(requires: Requires): string {
  let text = requiresText.get(requires);
  if (text === undefined) requiresText.set(requires, (text = JSON.stringify(requires)));
  return text;
}

type CacheEntry = CachedEligibility & { version: number; peers: readonly Advertisement[] };

/** The cached needs that share one `requires`: by tool type, or by model for agent steps. */
class NeedTable {
  private readonly byTool = new Map<string | undefined, CacheEntry>();
  private readonly byModel = new Map<string | undefined, CacheEntry>();

  find(need: PlacementNeed): CacheEntry | undefined {
    return need.model === undefined ? this.byTool.get(need.tool_type) : this.byModel.get(need.model);
  }

  set(need: PlacementNeed, entry: CacheEntry): void {
    if (need.model === undefined) this.byTool.set(need.tool_type, entry);
    else this.byModel.set(need.model, entry);
  }
}

function preferenceBonus(p: Advertisement, need: PlacementNeed): number {
  const prefer = need.requires?.prefer;
  if (!prefer) return 0;
  let bonus = 0;
  if (prefer.region !== undefined && asList(prefer.region).some((r) => regionMatches(p.region, r))) bonus += 0.5;
  for (const [k, v] of Object.entries(prefer.labels ?? {})) if (p.labels[k] === v) bonus += 0.25;
  return bonus;
}

/** How many random peers a step compares ("power of d choices": two already avoid herding). */
export const PLACEMENT_CHOICES = 2;

/**
 * The order in which to try eligible peers, lazily: the best of a few random picks first (from
 * the preferred peers, then the others, plus this node itself, ranked by rankPeers), then, only
 * if those are busy, every other eligible peer in random order. Hard constraints were applied
 * already (`eligible`); nothing here scans the whole mesh before the first candidate.
 */
export function* placementOrder(
  eligible: readonly Advertisement[],
  need: PlacementNeed,
  localInflight: ReadonlyMap<string, number>,
  opts: { random?: () => number; self?: Advertisement | undefined; preferred?: readonly Advertisement[] | undefined; choices?: number } = {},
): Generator<Advertisement> {
  const random = opts.random ?? Math.random;
  const choices = opts.choices ?? PLACEMENT_CHOICES;
  if (eligible.length === 1) {
    yield eligible[0]!; // a pinned step: nothing to rank
    return;
  }
  if (eligible.length <= 2 * choices + 1) {
    yield* rankPeers(eligible, need, localInflight, random, opts.self?.id);
    return;
  }
  const sample = new Map<string, Advertisement>();
  const pick = (from: readonly Advertisement[], n: number) => {
    for (let tries = 0; tries < 4 * n && n > 0 && from.length; tries++) {
      const p = from[Math.floor(random() * from.length)]!;
      if (sample.has(p.id)) continue;
      sample.set(p.id, p);
      n--;
    }
  };
  if (opts.preferred?.length) pick(opts.preferred, choices);
  pick(eligible, choices);
  if (opts.self) sample.set(opts.self.id, opts.self);
  for (const p of rankPeers([...sample.values()], need, localInflight, random, opts.self?.id)) yield p;
  // Fall-through: the rest, shuffled as they are drawn.
  const rest = eligible.filter((p) => !sample.has(p.id));
  for (let i = rest.length - 1; i >= 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const p = rest[j]!;
    rest[j] = rest[i]!;
    yield p;
  }
}
