/**
 * The execution record as the engine keeps it: one row per step run, each finished exactly once.
 * Later news about a finished row (a late reply, a cancelled attempt) is ignored.
 */
import type { StepFailure } from '../protocol/errors.js';
import type { ExecutionRecord, ExecutionStatus, StepRecord, StepStatus } from '../protocol/execution.js';

const FINAL: ReadonlySet<StepStatus> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

export class RecordKeeper {
  private readonly rows = new Map<string, StepRecord>();
  private sealed = false;

  constructor(
    readonly record: ExecutionRecord,
    private readonly onUpdate?: (record: ExecutionRecord) => void,
  ) {}

  /** Adds a pending row (idempotent). */
  add(id: string): void {
    if (this.rows.has(id) || this.sealed) return;
    const row: StepRecord = { id, status: 'pending', attempts: 0 };
    this.rows.set(id, row);
    this.record.steps.push(row);
  }

  /** Adds several pending rows with one update. */
  addAll(ids: readonly string[]): void {
    ids.forEach((id) => this.add(id));
    this.emit();
  }

  /** A row starts running (or starts another attempt). */
  running(id: string, attempt: number, node?: string): void {
    const row = this.open(id);
    if (!row) return;
    row.status = 'running';
    row.attempts = Math.max(row.attempts, attempt);
    row.started_at ??= now();
    if (node !== undefined) row.node = node;
    this.emit();
  }

  completed(id: string, output: unknown, node?: string): void {
    const row = this.open(id);
    if (!row) return;
    row.status = 'completed';
    row.output = output;
    if (node !== undefined) row.node = node;
    this.close(row);
  }

  failed(id: string, failure: StepFailure, node?: string): void {
    const row = this.open(id);
    if (!row) return;
    row.status = 'failed';
    row.error = failure.toWire();
    if (node !== undefined) row.node = node;
    this.close(row);
  }

  /** Skipped (never ran: its branch was not taken) or cancelled. */
  ended(id: string, status: 'skipped' | 'cancelled'): void {
    const row = this.open(id);
    if (!row) return;
    row.status = status;
    if (status === 'cancelled' && row.started_at) row.ended_at = now();
    this.emit();
  }

  isFinal(id: string): boolean {
    const row = this.rows.get(id);
    return row !== undefined && FINAL.has(row.status);
  }

  /** Ends the execution: open rows end as `open` (running ones as cancelled), one last update. */
  finish(status: Extract<ExecutionStatus, 'completed' | 'failed' | 'cancelled'>, fields: Partial<ExecutionRecord>, open: 'skipped' | 'cancelled'): ExecutionRecord {
    if (this.sealed) return this.record;
    for (const row of this.record.steps) {
      if (FINAL.has(row.status)) continue;
      const wasRunning = row.status === 'running';
      row.status = wasRunning ? 'cancelled' : open;
      if (wasRunning) row.ended_at = now();
    }
    Object.assign(this.record, fields);
    this.record.status = status;
    this.record.ended_at = now();
    this.emit();
    this.sealed = true;
    return this.record;
  }

  /** Sends an update (used for execution-level changes). */
  emit(): void {
    if (this.sealed || !this.onUpdate) {
      this.record.updated_at = now();
      return;
    }
    this.record.updated_at = now();
    const snapshot: ExecutionRecord = { ...this.record, steps: this.record.steps.map((s) => ({ ...s })) };
    try {
      this.onUpdate(snapshot);
    } catch {
      // An observer's failure must not change the execution.
    }
  }

  private open(id: string): StepRecord | undefined {
    if (this.sealed) return undefined;
    let row = this.rows.get(id);
    if (!row) {
      this.add(id);
      row = this.rows.get(id);
    }
    return row && !FINAL.has(row.status) ? row : undefined;
  }

  private close(row: StepRecord): void {
    row.ended_at = now();
    row.started_at ??= row.ended_at;
    this.emit();
  }
}

function now(): string {
  return new Date().toISOString();
}
