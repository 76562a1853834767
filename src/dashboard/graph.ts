import type { ExecutionRecord } from '../protocol/execution.js';
import { stepGraph, validateWorkflowText, type Step } from '../workflow/index.js';

export interface GraphEdge {
  from: string;
  to: string;
}

/** The edges between an execution's step rows, and where they came from. */
export interface ExecutionGraph {
  edges: GraphEdge[];
  /** `workflow`: the workflow's own edges; `ids`: only what the row ids say (loop bodies under their loop). */
  source: 'workflow' | 'ids';
}

/** `map[3].label` → `map` and `map[3]`; `sub[0]/x` likewise; undefined for a top-level row. */
function iterationOf(rowId: string): { parent: string; iteration: string } | undefined {
  const m = /^(.*)\[(\d+)\][./][^[\]]*$/.exec(rowId);
  return m ? { parent: m[1]!, iteration: `${m[1]}[${m[2]}]` } : undefined;
}

/**
 * The graph the page lays out. Rows are the nodes; edges link rows that exist. With the workflow
 * document the edges are the ones the engine follows, repeated inside every loop iteration;
 * without it a loop's rows hang under the loop row and nothing else is guessed.
 */
export function executionGraph(record: ExecutionRecord, workflowText?: string): ExecutionGraph {
  const rows = new Set(record.steps.map((s) => s.id));
  const edges = new Map<string, GraphEdge>();
  const add = (from: string, to: string): void => {
    if (from !== to && rows.has(from) && rows.has(to)) edges.set(`${from}\u0000${to}`, { from, to });
  };
  const doc = workflowText ? validateWorkflowText(workflowText).document : undefined;
  const workflow = doc?.workflows[record.workflow] ?? (doc && record.workflow === '' ? doc.workflows[doc.defaultWorkflow] : undefined);
  if (workflow) {
    addListEdges(workflow.steps, '', rows, add);
    return { edges: [...edges.values()], source: 'workflow' };
  }
  for (const id of rows) {
    const it = iterationOf(id);
    if (it) add(it.parent, id);
  }
  return { edges: [...edges.values()], source: 'ids' };
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
      const iterationPrefix = `${iteration}.`;
      for (const root of roots) add(loopRow, iterationPrefix + root);
      addListEdges(body, iterationPrefix, rows, add);
    }
  }
}
