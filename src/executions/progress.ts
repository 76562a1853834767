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

/**
 * Turns record changes into progress reports: which step changed, and a count that only grows.
 * O(1) per change: it reads the record's counts and the changed row, never the whole step list.
 */
export class ProgressTracker {
  private readonly running = new Set<number>();
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
    if (this.report && progress > this.last) {
      this.last = progress;
      const current = changed?.status === 'running' ? changed : this.latestRunning(r);
      const where = current ? `; ${current.id} ${current.status}${current.node ? ` on ${current.node}` : ''}` : '';
      const message = isTerminal(r.status) ? `execution ${r.status}: ${done}/${total} steps` : `${done}/${total} steps done${where}`;
      try {
        this.report({ execution_id: this.executionId, status: r.status, progress, total: Math.max(total, progress), message });
      } catch {
        // A listener's failure (a closed MCP stream) must not touch the execution.
      }
    }
    return changed;
  }

  private latestRunning(r: ExecutionRecord): ExecutionEvent['step'] {
    let last: number | undefined;
    for (const i of this.running) last = i;
    const s = last === undefined ? undefined : r.steps[last];
    return s && { id: s.id, status: s.status, ...(s.node !== undefined && { node: s.node }) };
  }
}
