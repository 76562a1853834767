import { fetchMeshView } from '../../mesh/view-client.js';
import type { Advertisement } from '../../protocol/advert.js';
import { MeshError } from '../../protocol/errors.js';
import { boolFlag, intFlag, listFlag, stringFlag, type CliCommand } from '../command.js';
import { withNats } from '../client.js';

function formatRow(n: Advertisement): string[] {
  const gpus = n.gpus.length ? n.gpus.map((g) => `${g.model} ${Math.round(g.vram_mib / 1024)}G${g.declared ? '*' : ''}`).join('; ') : '-';
  const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-';
  return [
    n.name,
    n.region,
    n.state.toLowerCase(),
    seenAgo(n.last_seen),
    `${n.load.inflight}/${n.load.max_concurrency} cpu ${n.load.cpu_pct}%`,
    `${n.cpu.cores}`,
    `${n.memory.free_mib}/${n.memory.total_mib}`,
    gpus,
    labels,
    n.tools.join(','),
    n.mcp_url ?? '-',
  ];
}

/** Health at a glance: how long ago the node's last heartbeat arrived. */
function seenAgo(lastSeen: string): string {
  const ms = Date.now() - Date.parse(lastSeen);
  return Number.isFinite(ms) ? `${(Math.max(0, ms) / 1000).toFixed(1)}s ago` : '-';
}

/** Left-aligned columns, two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `--label k=v` flags as a map; a flag without `=` is a usage error. */
function labelFilter(flags: string[]): Record<string, string> | undefined {
  if (!flags.length) return undefined;
  const out: Record<string, string> = {};
  for (const f of flags) {
    const at = f.indexOf('=');
    if (at <= 0) throw new MeshError('USAGE', `--label "${f}": write it as key=value`);
    out[f.slice(0, at)] = f.slice(at + 1);
  }
  return out;
}

export const nodesCommand: CliCommand = {
  name: 'nodes',
  summary: 'the mesh as its nodes see it: one row per node',
  usage: '[--nats URL] [--json] [--region R] [--label k=v]... [--limit N] [--cursor C]',
  options: { nats: { type: 'string' }, json: { type: 'boolean' }, region: { type: 'string' }, label: { type: 'string', multiple: true }, limit: { type: 'string' }, cursor: { type: 'string' } },
  async run(args, io) {
    const limit = intFlag(args, 'limit', { min: 1, max: 2_000 });
    const cursor = stringFlag(args, 'cursor');
    const query = { region: stringFlag(args, 'region'), labels: labelFilter(listFlag(args, 'label')), limit, cursor, onePage: limit !== undefined || cursor !== undefined };
    return withNats(stringFlag(args, 'nats'), 'nodes', async (nc) => {
      const view = await fetchMeshView(nc, query);
      const nodes = view?.nodes ?? [];
      if (boolFlag(args, 'json')) {
        io.out(JSON.stringify(nodes, null, 2));
      } else if (nodes.length === 0) {
        io.err(view ? 'no node matches' : 'no wfmesh node answers on this NATS cluster (start one with `wfmesh up` or `wfmesh node`)');
      } else {
        io.out(table(['NAME', 'REGION', 'STATE', 'SEEN', 'LOAD', 'CPUS', 'MEM MiB free/total', 'GPUS', 'LABELS', 'TOOLS', 'MCP'], nodes.map(formatRow)));
        const of = view?.total !== undefined && view.total !== nodes.length ? ` of ${view.total}` : '';
        io.err(`${nodes.length}${of} node(s), as seen by ${view?.node}${nodes.some((n) => n.gpus.some((g) => g.declared)) ? '; * = declared hardware' : ''}`);
      }
      if (view?.next_cursor) io.err(`more: wfmesh nodes --cursor ${view.next_cursor}${limit !== undefined ? ` --limit ${limit}` : ''}`);
      return view ? 0 : 1;
    });
  },
};
