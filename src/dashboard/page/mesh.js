// The mesh view: one card per node, grouped by region. Cards are kept and updated in place, so a
// heartbeat moves a bar instead of rebuilding the page (no layout shift, focus stays put).
import { ago, badge, esc, mib } from './format.js';

const FIELDS = ['labels', 'cpu', 'memory', 'gpus', 'tools', 'models', 'load', 'cpu_pct', 'seen', 'version'];
const LABELS = { labels: 'Labels', cpu: 'CPU', memory: 'Memory', gpus: 'GPUs', tools: 'Tools', models: 'Models', load: 'In flight', cpu_pct: 'CPU load', seen: 'Last seen', version: 'Version' };

const chips = (items) => (items.length ? `<span class="chips">${items.map((i) => `<span class="chip">${esc(i)}</span>`).join('')}</span>` : '<span class="muted">none</span>');

// Widths are set through the CSSOM afterwards: the page's CSP refuses inline style attributes.
function meter(kind, label) {
  return `<span class="meter ${kind}"><span class="track" role="meter" aria-label="${esc(label)}" aria-valuemin="0" aria-valuemax="100"><span class="fill"></span></span><span class="num"></span></span>`;
}

function gpuText(gpus) {
  if (!gpus.length) return '<span class="muted">none</span>';
  return gpus.map((g) => `${esc(g.model)} <span class="muted">(${esc(mib(g.vram_mib))}${g.declared ? ', declared' : ''})</span>`).join('<br>');
}

function fieldsOf(n, sinceSnapshotMs, snapshotAt) {
  const { inflight, max_concurrency, cpu_pct } = n.load;
  return {
    labels: chips(Object.entries(n.labels).map(([k, v]) => `${k}=${v}`)),
    cpu: `${esc(n.cpu.cores)} cores <span class="muted">${esc(n.cpu.model)}</span>`,
    memory: `${esc(mib(n.memory.free_mib))} free of ${esc(mib(n.memory.total_mib))}`,
    gpus: gpuText(n.gpus),
    tools: chips(n.tools),
    models: chips(n.models),
    load: { kind: 'load', pct: (inflight / max_concurrency) * 100, text: `${inflight} / ${max_concurrency}`, label: `steps in flight on ${n.name}` },
    cpu_pct: { kind: 'cpu', pct: cpu_pct, text: `${cpu_pct.toFixed(0)} %`, label: `CPU load of ${n.name}` },
    seen: esc(ago(Date.parse(snapshotAt) - Date.parse(n.last_seen) + sinceSnapshotMs)),
    version: esc(n.version),
  };
}

function newCard(n) {
  const li = document.createElement('li');
  li.className = 'card';
  li.dataset.nodeId = n.id;
  li.dataset.nodeName = n.name;
  li.setAttribute('aria-label', `node ${n.name}`);
  li.innerHTML = `<h3><span class="node-name">${esc(n.name)}</span><span data-field="state"></span></h3><dl>${FIELDS.map((f) => `<dt>${LABELS[f]}</dt><dd data-field="${f}"></dd>`).join('')}</dl>`;
  return li;
}

function set(el, html) {
  if (el && el.innerHTML !== html) el.innerHTML = html;
}

function updateCard(li, n, sinceSnapshotMs, snapshotAt) {
  set(li.querySelector('[data-field="state"]'), badge(n.state));
  li.dataset.state = n.state;
  const fields = fieldsOf(n, sinceSnapshotMs, snapshotAt);
  for (const f of FIELDS) {
    const dd = li.querySelector(`[data-field="${f}"]`);
    const value = fields[f];
    if (typeof value === 'object') {
      // Move the bar, keep the element: its width animates and nothing around it reflows.
      if (!dd.querySelector('.fill')) dd.innerHTML = meter(value.kind, value.label);
      const fill = dd.querySelector('.fill');
      const pct = Math.max(0, Math.min(100, value.pct));
      fill.style.width = `${pct.toFixed(1)}%`;
      fill.parentElement.setAttribute('aria-valuenow', String(Math.round(pct)));
      dd.querySelector('.num').textContent = value.text;
      continue;
    }
    set(dd, fields[f]);
  }
}

export function renderMesh(el, snapshot) {
  const byRegion = new Map();
  for (const n of snapshot.nodes) {
    if (!byRegion.has(n.region)) byRegion.set(n.region, []);
    byRegion.get(n.region).push(n);
  }
  const regions = [...byRegion.keys()].sort();
  const existing = new Map([...el.querySelectorAll('.card')].map((c) => [c.dataset.nodeId, c]));
  const live = new Set(snapshot.nodes.map((n) => n.id));
  for (const [id, card] of existing) if (!live.has(id)) card.remove();
  for (const section of [...el.querySelectorAll('.region')]) if (!byRegion.has(section.dataset.region)) section.remove();
  let previous = null;
  for (const region of regions) {
    let section = [...el.querySelectorAll('.region')].find((s) => s.dataset.region === region);
    if (!section) {
      section = document.createElement('section');
      section.className = 'region';
      section.dataset.region = region;
      const hid = `region-${region.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      section.setAttribute('aria-labelledby', hid);
      section.innerHTML = `<h2 id="${esc(hid)}">${esc(region)} <span class="muted region-count"></span></h2><ul class="cards"></ul>`;
    }
    // Keep sections in region order; appending an existing element moves it (no rebuild).
    if (section.previousElementSibling !== previous || section.parentElement !== el) el.insertBefore(section, previous ? previous.nextElementSibling : el.firstElementChild);
    previous = section;
    const nodes = byRegion.get(region);
    section.querySelector('.region-count').textContent = `· ${nodes.length} node${nodes.length === 1 ? '' : 's'}`;
    const list = section.querySelector('.cards');
    nodes.forEach((n, i) => {
      const card = existing.get(n.id) ?? newCard(n);
      updateCard(card, n, 0, snapshot.at);
      if (list.children[i] !== card) list.insertBefore(card, list.children[i] ?? null);
    });
  }
  if (!snapshot.nodes.length) el.innerHTML = '<p class="muted">No live nodes seen yet.</p>';
  else el.querySelector(':scope > p')?.remove();
}

/** Once a second: "last seen" keeps counting between snapshots. */
export function tickMesh(el, snapshot, sinceSnapshotMs) {
  for (const n of snapshot.nodes) {
    const dd = el.querySelector(`.card[data-node-id="${CSS.escape(n.id)}"] [data-field="seen"]`);
    if (dd) dd.textContent = ago(Date.parse(snapshot.at) - Date.parse(n.last_seen) + sinceSnapshotMs);
  }
}
