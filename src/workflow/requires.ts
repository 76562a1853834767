/**
 * Two sets of hard placement constraints that must both hold (a tool's own `requires` and the
 * region its agent is bound to), combined into one. Pure.
 */
import type { Requires } from '../protocol/step.js';

type Gpu = NonNullable<Requires['gpu']>;

/** The combination, or `conflict` naming the constraint no node could meet on both counts. */
export function combineRequires(a: Requires | undefined, b: Requires | undefined): { requires?: Requires; conflict?: string } {
  if (!a) return b ? { requires: b } : {};
  if (!b) return { requires: a };
  const out: Requires = { ...a, ...b };
  if (a.region !== undefined && b.region !== undefined) {
    const region = intersectRegions(list(a.region), list(b.region));
    if (!region.length) return { conflict: `region ${list(a.region).join(' | ')} and region ${list(b.region).join(' | ')} share no region` };
    out.region = region.length === 1 ? (region[0] as string) : region;
  }
  if (a.node !== undefined && b.node !== undefined && a.node !== b.node) return { conflict: `node ${a.node} and node ${b.node}` };
  for (const [k, v] of Object.entries(b.labels ?? {})) {
    const mine = a.labels?.[k];
    if (mine !== undefined && mine !== v) return { conflict: `labels.${k} = ${mine} and labels.${k} = ${v}` };
  }
  if (a.labels || b.labels) out.labels = { ...a.labels, ...b.labels };
  if (a.min_memory_mib !== undefined && b.min_memory_mib !== undefined) out.min_memory_mib = Math.max(a.min_memory_mib, b.min_memory_mib);
  if (a.min_cpus !== undefined && b.min_cpus !== undefined) out.min_cpus = Math.max(a.min_cpus, b.min_cpus);
  if (a.gpu !== undefined && b.gpu !== undefined) {
    const gpu = combineGpu(a.gpu, b.gpu);
    if (typeof gpu === 'string') return { conflict: gpu };
    out.gpu = gpu;
  }
  return { requires: out };
}

const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

/** Regions in both lists; a pattern (`eu-*`) meets a name it matches, and two patterns the narrower. */
function intersectRegions(a: string[], b: string[]): string[] {
  const out = new Set<string>();
  const covers = (pattern: string, r: string) => (pattern.endsWith('*') ? r.startsWith(pattern.slice(0, -1)) : pattern === r);
  for (const x of a) for (const y of b) {
    if (covers(x, y)) out.add(y);
    else if (covers(y, x)) out.add(x);
  }
  return [...out];
}

function combineGpu(a: Gpu, b: Gpu): Gpu | string {
  if (a === false || b === false) return a === false && b === false ? false : 'gpu false and a gpu requirement';
  if (a === true) return b;
  if (b === true) return a;
  for (const k of ['vendor', 'model'] as const) {
    if (a[k] !== undefined && b[k] !== undefined && a[k].toLowerCase() !== b[k].toLowerCase()) return `gpu.${k} ${a[k]} and gpu.${k} ${b[k]}`;
  }
  const max = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.max(x, y));
  const count = max(a.count, b.count);
  const vram = max(a.min_vram_mib, b.min_vram_mib);
  return { ...a, ...b, ...(count !== undefined && { count }), ...(vram !== undefined && { min_vram_mib: vram }) };
}
