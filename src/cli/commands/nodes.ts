import { fetchMeshView } from '../../mesh/view-client.js';
import type { Advertisement } from '../../protocol/advert.js';
import { boolFlag, stringFlag, type CliCommand } from '../command.js';
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

export const nodesCommand: CliCommand = {
  name: 'nodes',
  summary: 'the mesh as its nodes see it: one row per node',
  usage: '[--nats URL] [--json]',
  options: { nats: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    return withNats(stringFlag(args, 'nats'), 'nodes', async (nc) => {
      const view = await fetchMeshView(nc);
      const nodes = view?.nodes ?? [];
      if (boolFlag(args, 'json')) {
        io.out(JSON.stringify(nodes, null, 2));
      } else if (nodes.length === 0) {
        io.err('no wfmesh node answers on this NATS cluster (start one with `wfmesh up` or `wfmesh node`)');
      } else {
        io.out(table(['NAME', 'REGION', 'STATE', 'SEEN', 'LOAD', 'CPUS', 'MEM MiB free/total', 'GPUS', 'LABELS', 'TOOLS', 'MCP'], nodes.map(formatRow)));
        io.err(`${nodes.length} node(s), as seen by ${view?.node}${nodes.some((n) => n.gpus.some((g) => g.declared)) ? '; * = declared hardware' : ''}`);
      }
      return nodes.length === 0 ? 1 : 0;
    });
  },
};
