import { MeshError } from '../../protocol/errors.js';
import { ExecutionStatusSchema, FINAL_STEP_STATUSES, type ExecutionRecord } from '../../protocol/execution.js';
import { ExecutionStore } from '../../store/index.js';
import { boolFlag, intFlag, stringFlag, type CliCommand } from '../command.js';
import { table } from './nodes.js';
import { withNats } from '../client.js';


function row(r: ExecutionRecord): string[] {
  const done = r.steps_done ?? r.steps.filter((s) => FINAL_STEP_STATUSES.has(s.status)).length;
  const error = r.error ? `${r.error.step ? `${r.error.step}: ` : ''}${r.error.message}`.replace(/\s+/g, ' ').slice(0, 80) : '';
  return [r.execution_id, r.status, r.workflow, r.mode, `${done}/${r.steps_total ?? r.steps.length}`, r.coordinator, r.created_at, error];
}

function details(r: ExecutionRecord): string {
  const lines = [
    `execution  ${r.execution_id}`,
    `status     ${r.status}${r.error ? ` (${r.error.type}${r.error.step ? ` at step ${r.error.step}` : ''}: ${r.error.message})` : ''}`,
    `workflow   ${r.workflow} (mode ${r.mode})`,
    `coordinator ${r.coordinator} (epoch ${r.epoch ?? 0})${r.requested_by ? `, requested by ${r.requested_by}` : ''}`,
    `created    ${r.created_at}${r.ended_at ? `, ended ${r.ended_at}` : ''}`,
    '',
    table(
      ['STEP', 'STATUS', 'NODE', 'ATTEMPTS', 'STARTED', 'ENDED', 'ERROR'],
      r.steps.map((s) => [s.id, s.status, s.node ?? '-', String(s.attempts), s.started_at ?? '-', s.ended_at ?? '-', s.error ? `${s.error.type}: ${s.error.message}`.slice(0, 80) : '']),
    ),
  ];
  const calls = r.steps.flatMap((s) =>
    (s.tool_calls ?? []).map((c) => [s.id, `${c.round}.${c.index}`, `${c.tool}${c.method ? `.${c.method}` : ''}`, c.node ?? '-', c.status, c.duration_ms === undefined ? '-' : `${Math.round(c.duration_ms)} ms`, (c.error ?? c.result ?? '').slice(0, 60)]),
  );
  if (calls.length) lines.push('', table(['STEP', 'CALL', 'TOOL', 'NODE', 'STATUS', 'TOOK', 'RESULT / ERROR'], calls));
  const attempts = r.steps.flatMap((s) => (s.history ?? []).map((h) => [s.id, String(h.attempt), h.node, String(h.epoch), h.status, h.started_at, h.ended_at ?? '-', h.error?.slice(0, 60) ?? '']));
  if (attempts.length) lines.push('', table(['STEP', 'ATTEMPT', 'NODE', 'EPOCH', 'OUTCOME', 'STARTED', 'ENDED', 'ERROR'], attempts));
  if (r.handovers?.length) {
    lines.push('', 'handovers:');
    for (const h of r.handovers) lines.push(`  ${h.at}  ${h.from} -> ${h.node} (epoch ${h.epoch}): ${h.reason}`);
  }
  if (r.output !== undefined) lines.push('', `output: ${JSON.stringify(r.output, null, 2)}`);
  return lines.join('\n');
}

export const executionsCommand: CliCommand = {
  name: 'executions',
  summary: 'list executions, or show one, from the shared store (any node started them)',
  usage: '[ID] [--status S] [--limit N] [--json] [--nats URL]',
  options: { nats: { type: 'string' }, json: { type: 'boolean' }, status: { type: 'string' }, limit: { type: 'string' } },
  async run(args, io) {
    const [id, ...extra] = args.positionals;
    if (extra.length) throw new MeshError('USAGE', 'at most one execution id');
    const statusFlag = stringFlag(args, 'status');
    const status = statusFlag === undefined ? undefined : ExecutionStatusSchema.safeParse(statusFlag);
    if (status && !status.success) throw new MeshError('USAGE', `--status "${statusFlag}": one of ${ExecutionStatusSchema.options.join(', ')}`);
    const limit = intFlag(args, 'limit', { min: 1, max: 500 }, 50);
    return withNats(stringFlag(args, 'nats'), 'executions', async (nc) => {
      const store = new ExecutionStore(nc);
      const json = boolFlag(args, 'json');
      if (id) {
        const found = await store.get(id);
        if (!found) throw new MeshError('EXECUTION_NOT_FOUND', `no execution ${id} in the mesh (it may have expired)`);
        io.out(json ? JSON.stringify(found.record, null, 2) : details(found.record));
        return 0;
      }
      const page = await store.list({ limit, ...(status?.success && { status: status.data }) });
      if (json) io.out(JSON.stringify(page, null, 2));
      else if (page.executions.length === 0) io.err('no executions recorded in this mesh');
      else {
        io.out(table(['ID', 'STATUS', 'WORKFLOW', 'MODE', 'STEPS', 'COORDINATOR', 'CREATED', 'ERROR'], page.executions.map(row)));
        if (page.next_cursor) io.err(`showing the newest ${page.executions.length}; use --limit for more`);
      }
      return 0;
    });
  },
};
