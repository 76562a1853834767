/**
 * The step graph of one list of steps (a workflow, or a loop body). Shared by validation and the
 * engine, so both agree on what runs after what.
 *
 * A list is a *sequence* (LangSwarm V1) unless some step has `depends_on`, which makes it a
 * *graph*. In a sequence a step without `output` continues to the next one and the first step
 * starts; in a graph only the edges written down count, and every step with no incoming edge
 * starts at once. Edges come from `output.to` (every target any route may choose),
 * `depends_on`, and the sequence. An edge that closes a cycle is a back edge: it re-runs its
 * target instead of being waited for, so the forward edges always form a DAG.
 */
import { routeTargets, USER_TARGET, type Step } from './model.js';

export interface Edge {
  readonly from: string;
  readonly to: string;
  /** Taken whenever `from` finishes (depends_on, sequence); else only when a route chooses it. */
  readonly always: boolean;
  readonly back: boolean;
}

export interface StepGraph {
  readonly mode: 'sequence' | 'graph';
  readonly steps: ReadonlyMap<string, Step>;
  readonly order: readonly string[];
  /** Outgoing edges, forward and back. */
  readonly out: ReadonlyMap<string, readonly Edge[]>;
  /** Incoming forward edges (what a step waits for). */
  readonly in: ReadonlyMap<string, readonly Edge[]>;
  readonly roots: readonly string[];
  /** Targets in routes or depends_on that name no step here. */
  readonly dangling: readonly { readonly step: Step; readonly target: string; readonly via: 'route' | 'depends_on' }[];
}

const cache = new WeakMap<readonly Step[], StepGraph>();
const boundsCache = new WeakMap<StepGraph, Map<string, number>>();

/** Builds (once per step list) the graph the engine and the validator share. */
export function stepGraph(steps: readonly Step[]): StepGraph {
  let g = cache.get(steps);
  if (!g) {
    g = build(steps);
    cache.set(steps, g);
  }
  return g;
}

function build(steps: readonly Step[]): StepGraph {
  const byId = new Map<string, Step>();
  for (const s of steps) if (!byId.has(s.id)) byId.set(s.id, s);
  const order = [...byId.keys()];
  const mode = steps.some((s) => s.depends_on.length > 0) ? 'graph' : 'sequence';
  const dangling: { step: Step; target: string; via: 'route' | 'depends_on' }[] = [];
  const pairs = new Map<string, { from: string; to: string; always: boolean }>();
  const addEdge = (from: string, to: string, always: boolean): void => {
    const key = `${from}\u0000${to}`;
    const e = pairs.get(key);
    if (e) e.always ||= always;
    else pairs.set(key, { from, to, always });
  };
  // Dangling names are looked for in every step, duplicates included, so all are reported.
  for (const s of steps) {
    for (const t of routeTargets(s)) if (t !== USER_TARGET && !byId.has(t)) dangling.push({ step: s, target: t, via: 'route' });
    for (const d of s.depends_on) if (!byId.has(d) || d === s.id) dangling.push({ step: s, target: d, via: 'depends_on' });
  }
  order.forEach((id, i) => {
    const s = byId.get(id) as Step;
    for (const t of routeTargets(s)) if (byId.has(t)) addEdge(id, t, false);
    for (const d of s.depends_on) if (byId.has(d) && d !== id) addEdge(d, id, true);
    const next = order[i + 1];
    if (mode === 'sequence' && s.routes.length === 0 && next !== undefined) addEdge(id, next, true);
  });

  const adjacency = new Map<string, { from: string; to: string; always: boolean }[]>(order.map((id) => [id, []]));
  for (const e of pairs.values()) adjacency.get(e.from)?.push(e);
  const hasIncoming = new Set([...pairs.values()].map((e) => e.to));
  const roots = mode === 'sequence' ? order.slice(0, 1) : order.filter((id) => !hasIncoming.has(id));

  // Back edges: iterative DFS from the roots, then from whatever is left, in declaration order.
  const back = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  for (const start of [...roots, ...order]) {
    if (state.has(start)) continue;
    const stack: { id: string; i: number }[] = [{ id: start, i: 0 }];
    state.set(start, 'open');
    while (stack.length) {
      const top = stack[stack.length - 1] as { id: string; i: number };
      const edges = adjacency.get(top.id) ?? [];
      const e = edges[top.i++];
      if (!e) {
        state.set(top.id, 'done');
        stack.pop();
        continue;
      }
      const st = state.get(e.to);
      if (st === 'open') back.add(`${e.from}\u0000${e.to}`);
      else if (st === undefined) {
        state.set(e.to, 'open');
        stack.push({ id: e.to, i: 0 });
      }
    }
  }

  const out = new Map<string, Edge[]>(order.map((id) => [id, []]));
  const inc = new Map<string, Edge[]>(order.map((id) => [id, []]));
  for (const [key, e] of pairs) {
    const edge: Edge = { ...e, back: back.has(key) };
    out.get(e.from)?.push(edge);
    if (!edge.back) inc.get(e.to)?.push(edge);
  }
  return { mode, steps: byId, order, out, in: inc, roots, dangling };
}

/** Steps every path to `id` passes through or may come from: its forward ancestors. */
export function ancestors(g: StepGraph, id: string): Set<string> {
  const seen = new Set<string>();
  const todo = [id];
  while (todo.length) {
    const cur = todo.pop() as string;
    for (const e of g.in.get(cur) ?? []) {
      if (!seen.has(e.from)) {
        seen.add(e.from);
        todo.push(e.from);
      }
    }
  }
  return seen;
}

/** Steps that can run at all: reachable from a root over any edge. */
export function reachable(g: StepGraph): Set<string> {
  const seen = new Set<string>(g.roots);
  const todo = [...g.roots];
  while (todo.length) {
    const cur = todo.pop() as string;
    for (const e of g.out.get(cur) ?? []) {
      if (!seen.has(e.to)) {
        seen.add(e.to);
        todo.push(e.to);
      }
    }
  }
  return seen;
}

/** Each back edge with the cycle it closes (target ... source, along forward edges). */
export function cycles(g: StepGraph): { edge: Edge; members: string[] }[] {
  const out: { edge: Edge; members: string[] }[] = [];
  for (const edges of g.out.values()) {
    for (const e of edges) {
      if (!e.back) continue;
      // Members: steps that are descendants of e.to and ancestors of e.from (plus both ends).
      const up = ancestors(g, e.from);
      const members = g.order.filter((id) => id === e.to || id === e.from || (up.has(id) && ancestors(g, id).has(e.to)));
      out.push({ edge: e, members });
    }
  }
  return out;
}

/** Forward descendants of `id` (not including it). */
export function descendants(g: StepGraph, id: string): Set<string> {
  const seen = new Set<string>();
  const todo = [id];
  while (todo.length) {
    const cur = todo.pop() as string;
    for (const e of g.out.get(cur) ?? []) {
      if (!e.back && !seen.has(e.to)) {
        seen.add(e.to);
        todo.push(e.to);
      }
    }
  }
  return seen;
}

/** Back edge (`from\0to`) → how often its target may run: the smallest max_visits in its cycle. */
export function cycleBounds(g: StepGraph, fallback: number): ReadonlyMap<string, number> {
  const cached = boundsCache.get(g);
  if (cached) return cached;
  const out = new Map<string, number>();
  boundsCache.set(g, out);
  for (const { edge, members } of cycles(g)) {
    const bounds = members.map((id) => g.steps.get(id)?.max_visits).filter((v): v is number => v !== undefined);
    out.set(`${edge.from}\u0000${edge.to}`, bounds.length ? Math.min(...bounds) : fallback);
  }
  return out;
}
