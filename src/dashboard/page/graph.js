// The step graph: dagre lays it out, this draws it as SVG.
import dagre from '@dagrejs/dagre';
import { duration, esc, span } from './format.js';

const NODE_W = 200;
const NODE_H = 64;

function cut(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Renders rows + edges into `el`, as an SVG sized to the layout (so the page does not jump). */
export function renderGraph(el, record, graph) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 48, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of record.steps) g.setNode(s.id, { width: NODE_W, height: NODE_H });
  for (const e of graph.edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph();
  const parts = [];
  parts.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrow" d="M0,0 L10,5 L0,10 z"/></marker></defs>');
  for (const e of g.edges()) {
    const pts = g.edge(e).points ?? [];
    if (!pts.length) continue;
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    parts.push(`<path class="edge" d="${d}" marker-end="url(#arrow)"/>`);
  }
  for (const s of record.steps) {
    const n = g.node(s.id);
    const x = n.x - NODE_W / 2;
    const y = n.y - NODE_H / 2;
    const took = duration(span(s.started_at, s.ended_at));
    const attempts = s.history?.length ?? s.attempts;
    const where = s.node ? `${s.status} on ${s.node}` : s.status;
    const more = [attempts ? `${attempts} attempt${attempts === 1 ? '' : 's'}` : '', took].filter(Boolean).join(' · ');
    const title = `${s.id}: ${where}${more ? `, ${more}` : ''}${s.error ? `\n${s.error.type}: ${s.error.message}` : ''}`;
    parts.push(
      `<g class="step" data-step="${esc(s.id)}" data-status="${esc(s.status)}" data-node="${esc(s.node ?? '')}" transform="translate(${x.toFixed(1)},${y.toFixed(1)})">` +
        `<title>${esc(title)}</title>` +
        `<rect width="${NODE_W}" height="${NODE_H}" rx="7"/>` +
        `<text x="10" y="19" class="step-id">${esc(cut(s.id, 26))}</text>` +
        `<text x="10" y="37" class="sub step-where">${esc(cut(where, 30))}</text>` +
        `<text x="10" y="54" class="sub step-more">${esc(cut(more, 32))}</text>` +
        '</g>',
    );
  }
  const summary = `Step graph: ${record.steps.length} steps, ${graph.edges.length} edges${graph.source === 'observed' ? ' (as observed: each step after those that ended before it started)' : ''}`;
  el.innerHTML = `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(summary)}" width="${Math.ceil(width)}" height="${Math.ceil(height)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}">${parts.join('')}</svg>`;
}
