/**
 * The tool calls of one agent step as the execution record shows them: arguments and results
 * summarised to a few hundred characters, every start and end told to the step's listener.
 */
import type { ToolCallRecord } from '../../protocol/step.js';

/** Characters kept of a call's arguments, result or error in the record. */
export const SUMMARY_CHARS = 300;
/** Calls kept in the record of one step (the model could make thousands: later ones run, unlisted). */
export const RECORDED_CALLS = 200;

/** A value as one line of at most `max` characters. */
export function summarise(value: unknown, max = SUMMARY_CHARS): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
  } catch {
    text = String(value);
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Tells the step's listener of each call as it starts and ends, for the first RECORDED_CALLS calls. */
export class ToolCallLog {
  private made = 0;
  private readonly recorded = new WeakSet<ToolCallRecord>();

  constructor(private readonly listener?: (call: ToolCallRecord) => void) {}

  started(round: number, index: number, name: string, tool: string, method: string | undefined, args: unknown): ToolCallRecord {
    const call: ToolCallRecord = { round, index, name, tool, ...(method !== undefined && { method }), status: 'running', started_at: new Date().toISOString(), args: summarise(args) };
    this.made++;
    if (this.made <= RECORDED_CALLS) {
      this.recorded.add(call);
      this.tell(call);
    }
    return call;
  }

  /** The call was sent to `node` (while it runs, the record shows where). */
  placed(call: ToolCallRecord, node: string): ToolCallRecord {
    const moved: ToolCallRecord = { ...call, node };
    if (this.recorded.has(call)) {
      this.recorded.add(moved);
      this.tell(moved);
    }
    return moved;
  }

  ended(call: ToolCallRecord, outcome: { node?: string; result?: unknown; error?: string }): ToolCallRecord {
    const done: ToolCallRecord = {
      ...call,
      ...(outcome.node !== undefined && { node: outcome.node }),
      status: outcome.error === undefined ? 'ok' : 'error',
      duration_ms: Math.max(0, Date.now() - Date.parse(call.started_at)),
      ...(outcome.error === undefined ? { result: summarise(outcome.result) } : { error: summarise(outcome.error, SUMMARY_CHARS * 2) }),
    };
    if (this.recorded.has(call)) this.tell(done);
    return done;
  }

  /** Calls made so far (the record lists the first RECORDED_CALLS only). */
  get count(): number {
    return this.made;
  }

  private tell(call: ToolCallRecord): void {
    try {
      this.listener?.(call);
    } catch {
      // A watcher's failure must not change the step.
    }
  }
}
