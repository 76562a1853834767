import type { ExecutionEvent, ExecutionRecord, ExecutionStatus, StepRecord } from '../protocol/execution.js';
import type { ToolCallRecord } from '../protocol/step.js';

/** When a call last changed: its end, or its start while it runs. */
const endOf = (c: ToolCallRecord): number => Date.parse(c.started_at) + (c.duration_ms ?? 0);
import { isTerminal } from '../store/index.js';

/** One progress report: `progress` only ever grows (MCP requires it). */
export interface ExecutionProgress {
  execution_id: string;
  status: ExecutionStatus;
  progress: number;
  total: number;
  message: string;
}

/**
 * Turns record changes into progress reports: which step changed, and a count that only grows.
 * O(1) per change: it reads the record's counts and the changed row, never the whole step list.
 */
export class ProgressTracker {
  private readonly running = new Set<number>();
  /** Per row: how many tool calls it had, how many had ended and how many were placed, when last reported. */
  private readonly toolSeen = new Map<number, string>();
  private last = -1;

  constructor(
    private readonly executionId: string,
    private readonly report?: (p: ExecutionProgress) => void,
  ) {}

  /** The step whose change this is (for the event), reporting progress when it grew. */
  update(r: ExecutionRecord, row: number | undefined): ExecutionEvent['step'] {
    let changed: ExecutionEvent['step'];
    const s = row === undefined ? undefined : r.steps[row];
    if (s && row !== undefined) {
      changed = { id: s.id, status: s.status, ...(s.node !== undefined && { node: s.node }) };
      if (s.status === 'running') this.running.add(row);
      else this.running.delete(row);
    }
    const total = r.steps_total ?? r.steps.length;
    const done = r.steps_done ?? 0;
    // A half step while one runs: "working on step 4" is news, and the count still only grows.
    const progress = isTerminal(r.status) ? Math.max(total, done) : done + (this.running.size ? 0.5 : 0);
    // A tool call that started or ended is news too, though no step moved (the MCP stream keeps
    // the value increasing).
    const toolNews = s && row !== undefined && s.status === 'running' ? this.toolNews(row, s) : undefined;
    if (this.report && (progress > this.last || toolNews !== undefined)) {
      this.last = Math.max(this.last, progress);
      const current = changed?.status === 'running' ? changed : this.latestRunning(r);
      const where = current ? `; ${current.id} ${current.status}${current.node ? ` on ${current.node}` : ''}` : '';
      const message = isTerminal(r.status) ? `execution ${r.status}: ${done}/${total} steps` : `${done}/${total} steps done${where}${toolNews ?? ''}`;
      try {
        this.report({ execution_id: this.executionId, status: r.status, progress: this.last, total: Math.max(total, this.last), message });
      } catch {
        // A listener's failure (a closed MCP stream) must not touch the execution.
      }
    }
    return changed;
  }

  /** `; tool files.read_file on node-a ok (2 calls)` when the row's tool calls changed since last seen. */
  private toolNews(row: number, s: StepRecord): string | undefined {
    const calls = s.tool_calls;
    if (!calls?.length) return undefined;
    const signature = `${calls.length}:${calls.filter((c) => c.status !== 'running').length}:${calls.filter((c) => c.node !== undefined).length}`;
    if (this.toolSeen.get(row) === signature) return undefined;
    this.toolSeen.set(row, signature);
    const latest = calls.reduce((a, b) => (endOf(b) >= endOf(a) ? b : a));
    const what = `${latest.tool}${latest.method ? `.${latest.method}` : ''}`;
    return `; tool ${what}${latest.node ? ` on ${latest.node}` : ''} ${latest.status} (${calls.length} call${calls.length === 1 ? '' : 's'})`;
  }

  private latestRunning(r: ExecutionRecord): ExecutionEvent['step'] {
    let last: number | undefined;
    for (const i of this.running) last = i;
    const s = last === undefined ? undefined : r.steps[last];
    return s && { id: s.id, status: s.status, ...(s.node !== undefined && { node: s.node }) };
  }
}
