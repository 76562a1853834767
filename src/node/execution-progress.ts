import type { ExecutionEvent, ExecutionRecord, ExecutionStatus } from '../protocol/execution.js';
import { isTerminal } from '../store/index.js';

/** One progress report: `progress` only ever grows (MCP requires it). */
export interface ExecutionProgress {
  execution_id: string;
  status: ExecutionStatus;
  progress: number;
  total: number;
  message: string;
}

export const FINAL_STEP: ReadonlySet<string> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/** Turns record snapshots into progress reports: which step changed, and a count that only grows. */
export class ProgressTracker {
  private readonly seen = new Map<string, string>();
  private last = -1;

  constructor(
    private readonly executionId: string,
    private readonly report?: (p: ExecutionProgress) => void,
  ) {}

  /** Returns the step whose change this snapshot brings (for the event), reporting progress when it grew. */
  update(r: ExecutionRecord): ExecutionEvent['step'] {
    let changed: ExecutionEvent['step'];
    for (const s of r.steps) {
      if (this.seen.get(s.id) !== s.status) changed = { id: s.id, status: s.status, ...(s.node !== undefined && { node: s.node }) };
      this.seen.set(s.id, s.status);
    }
    const done = r.steps.filter((s) => FINAL_STEP.has(s.status)).length;
    const running = r.steps.filter((s) => s.status === 'running');
    // A half step while one runs: "working on step 4" is news, and the count still only grows.
    const progress = isTerminal(r.status) ? Math.max(r.steps.length, done) : done + (running.length ? 0.5 : 0);
    if (this.report && progress > this.last) {
      this.last = progress;
      const current = running[running.length - 1] ?? (changed?.status === 'pending' ? undefined : changed);
      const where = current ? `; ${current.id} ${current.status}${current.node ? ` on ${current.node}` : ''}` : '';
      const message = isTerminal(r.status) ? `execution ${r.status}: ${done}/${r.steps.length} steps` : `${done}/${r.steps.length} steps done${where}`;
      try {
        this.report({ execution_id: this.executionId, status: r.status, progress, total: Math.max(r.steps.length, progress), message });
      } catch {
        // A listener's failure (a closed MCP stream) must not touch the execution.
      }
    }
    return changed;
  }
}
