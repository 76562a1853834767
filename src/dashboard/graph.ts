import type { ExecutionRecord, StepRecord } from '../protocol/execution.js';
import { stepGraph, validateWorkflowText, type Step } from '../workflow/index.js';

export interface GraphEdge {
  from: string;
  to: string;
}

/** The edges between an execution's step rows, and where they came from. */
export interface ExecutionGraph {
  edges: GraphEdge[];
  /**
   * `workflow`: the workflow's own edges. `observed`: the workflow was not at hand, so a row
   * follows the rows that ended before it started (the order the execution actually took), and
   * a loop's rows hang under their loop.
   */
  source: 'workflow' | 'observed';
}

/** Beyond this many rows in one scope the observed order is not worth its cubic cost. */
const MAX_OBSERVED_ROWS = 200;

/** `map[3].label` → `map` and `map[3]`; `sub[0]/x` likewise; undefined for a top-level row. */
function iterationOf(rowId: string): { parent: string; iteration: string } | undefined {
  const m = /^(.*)\[(\d+)\][./][^[\]]*$/.exec(rowId);
  return m ? { parent: m[1]!, iteration: `${m[1]}[${m[2]}]` } : undefined;
}

/** The graph the page lays out: rows are its nodes, edges link rows that exist. */
export function executionGraph(record: ExecutionRecord, workflowText?: string): ExecutionGraph {
  const rows = new Set(record.steps.map((s) => s.id));
  const edges = new Map<string, GraphEdge>();
  const add = (from: string, to: string): void => {
    if (from !== to && rows.has(from) && rows.has(to)) edges.set(`${from}\u0000${to}`, { from, to });
  };
  const doc = workflowText ? validateWorkflowText(workflowText).document : undefined;
  const workflow = doc?.workflows[record.workflow];
  if (workflow) {
    addListEdges(workflow.steps, '', rows, add);
    return { edges: [...edges.values()], source: 'workflow' };
  }
  // Rows of one loop iteration form a scope of their own, under their loop row.
  const scopes = new Map<string, StepRecord[]>();
  for (const s of record.steps) {
    const key = iterationOf(s.id)?.iteration ?? '';
    scopes.set(key, [...(scopes.get(key) ?? []), s]);
  }
  for (const [key, scope] of scopes) {
    const inner = observedOrder(scope);
    for (const e of inner) add(e.from, e.to);
    if (key === '') continue;
    const parent = iterationOf(`${key}.x`)!.parent;
    const hasIncoming = new Set(inner.map((e) => e.to));
    for (const s of scope) if (!hasIncoming.has(s.id)) add(parent, s.id);
  }
  return { edges: [...edges.values()], source: 'observed' };
}

/** A → B when B started at or after A ended, without the edges implied by others (transitive reduction). */
function observedOrder(scope: readonly StepRecord[]): GraphEdge[] {
  const timed = scope
    .filter((s) => s.started_at && s.ended_at)
    .map((s) => ({ id: s.id, start: Date.parse(s.started_at!), end: Date.parse(s.ended_at!) }));
  if (timed.length > MAX_OBSERVED_ROWS) return [];
  const before = (a: (typeof timed)[number], b: (typeof timed)[number]): boolean => a !== b && a.end <= b.start && a.start < b.start;
  const edges: GraphEdge[] = [];
  for (const a of timed) {
    for (const b of timed) {
      if (!before(a, b)) continue;
      if (timed.some((c) => before(a, c) && before(c, b))) continue;
      edges.push({ from: a.id, to: b.id });
    }
  }
  return edges;
}

function addListEdges(steps: readonly Step[], prefix: string, rows: ReadonlySet<string>, add: (from: string, to: string) => void): void {
  const g = stepGraph(steps);
  for (const [from, out] of g.out) for (const e of out) if (!e.back) add(prefix + from, prefix + e.to);
  for (const step of steps) {
    if (step.kind !== 'loop' || !('steps' in step.loop.body)) continue;
    const body = step.loop.body.steps;
    const roots = stepGraph(body).roots;
    const loopRow = prefix + step.id;
    // One copy of the body per iteration that left a row.
    const iterations = new Set<string>();
    for (const r of rows) {
      const it = iterationOf(r);
      if (it?.parent === loopRow) iterations.add(it.iteration);
    }
    for (const iteration of iterations) {
      for (const root of roots) add(loopRow, `${iteration}.${root}`);
      addListEdges(body, `${iteration}.`, rows, add);
    }
  }
}
