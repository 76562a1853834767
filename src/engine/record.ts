/**
 * The execution record as the engine keeps it: one row per step run, each finished exactly once.
 * Later news about a finished row (a late reply, a cancelled attempt) is ignored.
 *
 * Rows are never changed in place: a change replaces the row object, so an update can hand out
 * a snapshot that shares every row (one array copy per change, no deep copies).
 */
import type { StepFailure } from '../protocol/errors.js';
import type { ExecutionRecord, ExecutionStatus, StepRecord, StepStatus } from '../protocol/execution.js';

const FINAL: ReadonlySet<StepStatus> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

export class RecordKeeper {
  private readonly index = new Map<string, number>();
  private sealed = false;

  constructor(
    readonly record: ExecutionRecord,
    private readonly onUpdate?: (record: ExecutionRecord) => void,
  ) {}

  /** Adds pending rows (idempotent) with one update. */
  addAll(ids: readonly string[]): void {
    if (this.sealed) return;
    for (const id of ids) this.add(id);
    this.emit();
  }

  /** A row starts running (or starts another attempt). */
  running(id: string, attempt: number, node?: string): void {
    this.change(id, (row) => ({
      ...row,
      status: 'running',
      attempts: Math.max(row.attempts, attempt),
      started_at: row.started_at ?? now(),
      ...(node !== undefined && { node }),
    }));
  }

  completed(id: string, output: unknown, node?: string): void {
    this.change(id, (row) => ({ ...ended(row), status: 'completed', output, ...(node !== undefined && { node }) }));
  }

  failed(id: string, failure: StepFailure, node?: string): void {
    this.change(id, (row) => ({ ...ended(row), status: 'failed', error: failure.toWire(), ...(node !== undefined && { node }) }));
  }

  /** Skipped (its branch was not taken) or cancelled. */
  ended(id: string, status: 'skipped' | 'cancelled'): void {
    this.change(id, (row) => (row.started_at ? { ...row, status, ended_at: now() } : { ...row, status }));
  }

  /** Ends the execution: open rows end as `open` (running ones as cancelled); one last update. */
  finish(status: Extract<ExecutionStatus, 'completed' | 'failed' | 'cancelled'>, fields: Partial<ExecutionRecord>, open: 'skipped' | 'cancelled'): ExecutionRecord {
    if (this.sealed) return this.record;
    const steps = this.record.steps;
    steps.forEach((row, i) => {
      if (FINAL.has(row.status)) return;
      steps[i] = row.status === 'running' ? { ...row, status: 'cancelled', ended_at: now() } : { ...row, status: open };
    });
    Object.assign(this.record, fields);
    this.record.status = status;
    this.record.ended_at = now();
    this.emit();
    this.sealed = true;
    return this.record;
  }

  private add(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.record.steps.push({ id, status: 'pending', attempts: 0 }) - 1;
      this.index.set(id, i);
    }
    return i;
  }

  private change(id: string, next: (row: StepRecord) => StepRecord): void {
    if (this.sealed) return;
    const i = this.add(id);
    const row = this.record.steps[i] as StepRecord;
    if (FINAL.has(row.status)) return;
    this.record.steps[i] = next(row);
    this.emit();
  }

  private emit(): void {
    this.record.updated_at = now();
    if (this.sealed || !this.onUpdate) return;
    try {
      this.onUpdate({ ...this.record, steps: this.record.steps.slice() });
    } catch {
      // An observer's failure must not change the execution.
    }
  }
}

function ended(row: StepRecord): StepRecord {
  const t = now();
  return { ...row, started_at: row.started_at ?? t, ended_at: t };
}

function now(): string {
  return new Date().toISOString();
}
