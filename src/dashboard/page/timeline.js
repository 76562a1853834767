// The timeline: one lane per node, one bar per step attempt.
import { duration, esc } from './format.js';

const LANE_H = 30;
const LABEL_W = 130;
const AXIS_H = 22;

/** Every attempt of every step: from `history` when the record has it, else from the row itself. */
export function attempts(record) {
  const out = [];
  for (const s of record.steps) {
    if (Array.isArray(s.history) && s.history.length) {
      for (const h of s.history) {
        if (h.node && h.started_at) out.push({ step: s.id, node: h.node, attempt: h.attempt, status: h.status, start: h.started_at, end: h.ended_at, epoch: h.epoch, error: h.error });
      }
    } else if (s.node && s.started_at) {
      out.push({ step: s.id, node: s.node, attempt: s.attempts || 1, status: s.status, start: s.started_at, end: s.ended_at });
    }
  }
  return out;
}

export function renderTimeline(el, record) {
  const bars = attempts(record);
  if (!bars.length) {
    el.innerHTML = '<p class="muted pad">No step has started yet.</p>';
    return;
  }
  const now = Date.now();
  const t0 = Math.min(...bars.map((b) => Date.parse(b.start)), Date.parse(record.created_at));
  const t1 = Math.max(...bars.map((b) => (b.end ? Date.parse(b.end) : now)), record.ended_at ? Date.parse(record.ended_at) : 0, t0 + 1);
  const nodes = [...new Set(bars.map((b) => b.node))].sort();
  const width = Math.max(el.clientWidth - 2, 480);
  const plotW = width - LABEL_W - 16;
  const x = (t) => LABEL_W + ((t - t0) / (t1 - t0)) * plotW;
  const height = AXIS_H + nodes.length * LANE_H + 8;
  const parts = [];
  // Lanes, then a light axis with the total span.
  nodes.forEach((n, i) => {
    const y = AXIS_H + i * LANE_H;
    parts.push(`<rect class="lane" x="${LABEL_W}" y="${y + 3}" width="${plotW}" height="${LANE_H - 6}" rx="3"/>`);
    parts.push(`<text class="lane-label" x="8" y="${y + LANE_H / 2 + 4}">${esc(n.length > 18 ? `${n.slice(0, 17)}…` : n)}</text>`);
  });
  for (let k = 0; k <= 4; k++) {
    const xx = LABEL_W + (plotW * k) / 4;
    parts.push(`<line class="axis" x1="${xx}" x2="${xx}" y1="${AXIS_H - 4}" y2="${height - 4}"/>`);
    parts.push(`<text class="sub" x="${xx}" y="14" text-anchor="${k === 0 ? 'start' : k === 4 ? 'end' : 'middle'}">${k === 0 ? '0' : esc(duration(((t1 - t0) * k) / 4))}</text>`);
  }
  // Bars that overlap in one lane (parallel steps on one node) share it in thinner rows.
  const rowsOf = new Map();
  const placed = bars
    .map((b) => ({ ...b, s: Date.parse(b.start), e: b.end ? Date.parse(b.end) : now }))
    .sort((a, b) => a.s - b.s)
    .map((b) => {
      const rows = rowsOf.get(b.node) ?? [];
      let r = rows.findIndex((end) => end <= b.s);
      if (r < 0) r = rows.push(0) - 1;
      rows[r] = b.e;
      rowsOf.set(b.node, rows);
      return { ...b, row: r };
    });
  for (const b of placed) {
    const lane = nodes.indexOf(b.node);
    const rows = rowsOf.get(b.node).length;
    const h = (LANE_H - 10) / rows;
    const y = AXIS_H + lane * LANE_H + 5 + b.row * h;
    const bx = x(b.s);
    const bw = Math.max(x(b.e) - bx, 2);
    const label = `${b.step} on ${b.node}, attempt ${b.attempt}${b.epoch !== undefined ? `, epoch ${b.epoch}` : ''}: ${b.status}, ${duration(b.e - b.s)}`;
    parts.push(`<rect class="bar" data-step="${esc(b.step)}" data-node="${esc(b.node)}" data-status="${esc(b.status)}" x="${bx.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(h - 1, 2).toFixed(1)}" rx="2"><title>${esc(label)}</title></rect>`);
  }
  const summary = `Timeline: ${bars.length} step attempts on ${nodes.length} node${nodes.length === 1 ? '' : 's'} over ${duration(t1 - t0)}`;
  el.innerHTML = `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(summary)}" width="${width}" height="${height}">${parts.join('')}</svg>` +
    '<ul class="legend"><li><span class="badge" data-status="completed">completed</span></li><li><span class="badge" data-status="running">running</span></li><li><span class="badge" data-status="failed">failed</span></li><li><span class="badge" data-status="cancelled">cancelled</span></li></ul>';
}
