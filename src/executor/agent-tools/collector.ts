import type { ToolCallRecord } from '../../protocol/step.js';

/** The latest state of each tool call of one step (a call is told twice: started, ended), in order. */
export class ToolCallCollector {
  private readonly calls = new Map<string, ToolCallRecord>();

  add(call: ToolCallRecord): void {
    this.calls.set(`${call.round}.${call.index}`, call);
  }

  get size(): number {
    return this.calls.size;
  }

  list(): ToolCallRecord[] {
    return [...this.calls.values()].sort((a, b) => a.round - b.round || a.index - b.index);
  }
}

/** Adds `tool_calls` to a failure (as `node` is added), so that the record keeps them too. */
export function withToolCalls<E>(err: E, collector: ToolCallCollector): E {
  if (collector.size && err !== null && typeof err === 'object') Object.assign(err, { tool_calls: collector.list() });
  return err;
}

/** The tool calls a failure carries (see withToolCalls). */
export function toolCallsOf(err: unknown): ToolCallRecord[] | undefined {
  const calls = (err as { tool_calls?: unknown } | null)?.tool_calls;
  return Array.isArray(calls) ? (calls as ToolCallRecord[]) : undefined;
}
