import type { ExecutionRecord } from '../protocol/execution.js';
import type { ToolCallRecord } from '../protocol/step.js';
import { table } from './commands/nodes.js';

/** How a tool call reads under its step: `↳ files.read_file`. */
function toolLabel(c: ToolCallRecord): string {
  return `  ↳ ${c.tool}${c.method ? `.${c.method}` : ''}`;
}

/**
 * The step table of `wfmesh run` (and `wfmesh executions ID`): one row per step, then one row per
 * tool call of an agent step, under it (status ok or error, the node it ran on, how long it took).
 */
export function stepTable(r: ExecutionRecord): string {
  const rows: string[][] = [];
  for (const s of r.steps) {
    rows.push([s.id, s.status, s.node ?? '-', String(s.attempts), s.error ? `${s.error.type}: ${s.error.message}`.replace(/\s+/g, ' ').slice(0, 80) : '']);
    for (const c of s.tool_calls ?? []) {
      const took = c.duration_ms === undefined ? '' : `${Math.round(c.duration_ms)} ms`;
      const detail = c.error ? `${took}${took ? ', ' : ''}${c.error}`.slice(0, 80) : took;
      rows.push([toolLabel(c), c.status, c.node ?? '-', '', detail]);
    }
  }
  return table(['STEP', 'STATUS', 'NODE', 'ATTEMPTS', 'DETAIL'], rows);
}
