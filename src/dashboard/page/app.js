// The wfmesh dashboard: one live stream per page (fetch-based server-sent events, so the bearer
// token travels as a header), JSON for the rest, hash routes (#/mesh, #/executions, #/executions/ID).
import { renderGraph } from './graph.js';
import { renderTimeline } from './timeline.js';
import { renderMesh, tickMesh } from './mesh.js';
import { ago, badge, clock, duration, esc, FINAL_EXECUTION, FINAL_STEP, span } from './format.js';

const API = '/dashboard/api';
const TOKEN_KEY = 'wfmesh.token';
const $ = (id) => document.getElementById(id);

const state = {
  mesh: undefined,
  meshAt: 0,
  executions: new Map(),
  listLoaded: false,
  current: undefined,
  signedOut: false,
};

class Unauthorized extends Error {}

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}`, ...extra } : extra;
}

async function api(path, init = {}) {
  const res = await fetch(`${API}${path}`, { ...init, headers: headers(init.headers), cache: 'no-store' });
  if (res.status === 401) throw new Unauthorized();
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

// ---- sign-in ------------------------------------------------------------------------------

function showSignIn(message) {
  state.signedOut = true;
  state.mesh = undefined;
  state.executions.clear();
  state.current = undefined;
  for (const id of ['regions', 'executions-body', 'graph', 'timeline', 'steps-body', 'execution-facts', 'execution-error']) $(id).innerHTML = '';
  for (const v of document.querySelectorAll('.view')) v.hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message ?? '';
  setLive('signed out', 'connecting');
  $('token').focus();
}

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  try {
    await api('/mesh');
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('signin-error').textContent = err instanceof Unauthorized ? 'That token was refused.' : String(err.message);
    return;
  }
  $('token').value = '';
  state.signedOut = false;
  $('signin').hidden = true;
  connect();
  route();
});

// ---- the live stream ------------------------------------------------------------------------

function setLive(text, kind) {
  $('live').dataset.state = kind;
  $('live-text').textContent = text;
}

let streamAbort;
let retryMs = 500;

/** Opens the event stream; reconnects on its own, backing off up to 10 s. */
async function connect() {
  streamAbort?.abort();
  const ctl = new AbortController();
  streamAbort = ctl;
  try {
    const res = await fetch(`${API}/events`, { headers: headers({ accept: 'text/event-stream' }), signal: ctl.signal, cache: 'no-store' });
    if (res.status === 401) return showSignIn(sessionStorage.getItem(TOKEN_KEY) ? 'The token was refused.' : '');
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    retryMs = 500;
    setLive('live', 'live');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        dispatchFrame(frame);
      }
    }
  } catch (err) {
    if (ctl.signal.aborted) return;
  }
  if (ctl.signal.aborted || state.signedOut) return;
  setLive('reconnecting', 'reconnecting');
  setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, 10_000);
}

function dispatchFrame(frame) {
  let event = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return;
  const payload = JSON.parse(data.join('\n'));
  if (event === 'hello') {
    $('node-name').textContent = `· ${payload.node}`;
    resync();
  }
  else if (event === 'mesh') onMesh(payload);
  else if (event === 'execution') onExecutionEvent(payload);
}

/** After a (re)connect the stream misses nothing from then on: re-read what the page shows once. */
function resync() {
  if (!$('view-executions').hidden) loadExecutions();
  if (!$('view-execution').hidden && state.current) loadExecution(state.current.record.execution_id);
  else if (!$('view-execution').hidden) route();
}

function onMesh(snapshot) {
  state.mesh = snapshot;
  state.meshAt = Date.now();
  if (!$('view-mesh').hidden) renderMesh($('regions'), snapshot);
  $('mesh-count').textContent = `· ${snapshot.nodes.length} node${snapshot.nodes.length === 1 ? '' : 's'}`;
}

// ---- executions ---------------------------------------------------------------------------

const timers = new Map();
/** Runs `fn` once after a quiet moment: a burst of events costs one fetch. */
function soon(key, fn, ms = 250) {
  clearTimeout(timers.get(key));
  timers.set(key, setTimeout(() => { timers.delete(key); fn(); }, ms));
}

function onExecutionEvent(ev) {
  const known = state.executions.get(ev.execution_id);
  if (known && ev.status) {
    known.status = ev.status;
    known.steps_done = ev.steps_done;
    known.steps_total = ev.steps_total;
    if (FINAL_EXECUTION.has(ev.status)) known.ended_at ??= ev.at;
    if (!$('view-executions').hidden) renderExecutionRows();
  } else if (!$('view-executions').hidden) {
    // A new execution (or news in a shape this page does not read): one fetch after the burst.
    soon('list', loadExecutions);
  }
  if (state.current?.record.execution_id === ev.execution_id) soon('current', () => loadExecution(ev.execution_id));
}

function summarise(r) {
  return {
    execution_id: r.execution_id,
    workflow: r.workflow,
    status: r.status,
    coordinator: r.coordinator,
    created_at: r.created_at,
    ended_at: r.ended_at,
    steps_done: r.steps.filter((s) => FINAL_STEP.has(s.status)).length,
    steps_total: r.steps.length,
  };
}

async function loadExecutions() {
  const status = $('filter-status').value;
  try {
    const page = await api(`/executions?limit=200${status ? `&status=${encodeURIComponent(status)}` : ''}`);
    state.executions = new Map(page.executions.map((r) => [r.execution_id, summarise(r)]));
    state.listLoaded = true;
    renderExecutionRows();
  } catch (err) {
    if (err instanceof Unauthorized) showSignIn('');
  }
}

function renderExecutionRows() {
  const wf = $('filter-workflow').value.trim().toLowerCase();
  const co = $('filter-coordinator').value.trim().toLowerCase();
  const status = $('filter-status').value;
  const rows = [...state.executions.values()]
    .filter((e) => (!status || e.status === status) && (!wf || e.workflow.toLowerCase().includes(wf)) && (!co || e.coordinator.toLowerCase().includes(co)))
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  $('executions-body').innerHTML = rows
    .map((e) => `<tr data-execution="${esc(e.execution_id)}">` +
      `<td><a class="mono" href="#/executions/${encodeURIComponent(e.execution_id)}">${esc(e.execution_id)}</a></td>` +
      `<td>${badge(e.status)}</td><td>${esc(e.workflow)}</td><td>${esc(e.coordinator)}</td>` +
      `<td>${esc(clock(e.created_at))}</td><td class="num" data-live-span="${FINAL_EXECUTION.has(e.status) ? '' : esc(e.created_at)}">${esc(duration(span(e.created_at, e.ended_at)))}</td>` +
      `<td class="num">${e.steps_done}/${e.steps_total}</td></tr>`)
    .join('');
  $('executions-empty').hidden = !state.listLoaded || rows.length > 0;
}

for (const id of ['filter-workflow', 'filter-coordinator']) $(id).addEventListener('input', renderExecutionRows);
$('filter-status').addEventListener('change', loadExecutions);
$('filters').addEventListener('submit', (e) => e.preventDefault());

// ---- one execution ------------------------------------------------------------------------

async function loadExecution(id) {
  try {
    const body = await api(`/executions/${encodeURIComponent(id)}`);
    if (location.hash !== `#/executions/${encodeURIComponent(id)}`) return;
    state.current = body;
    renderExecution(body);
  } catch (err) {
    if (err instanceof Unauthorized) return showSignIn('');
    $('execution-title').textContent = `Execution ${id}`;
    $('execution-error').innerHTML = `<p class="failure" role="alert">${esc(err.message)}</p>`;
  }
}

function fact(label, value, attrs = '') {
  return `<div><dt>${esc(label)}</dt><dd ${attrs}>${value}</dd></div>`;
}

function renderExecution({ record: r, graph }) {
  const done = r.steps.filter((s) => FINAL_STEP.has(s.status)).length;
  $('execution-title').innerHTML = `${esc(r.workflow)} <span class="mono muted">${esc(r.execution_id)}</span>`;
  $('execution-facts').innerHTML = [
    fact('Status', badge(r.status), 'id="execution-status"'),
    fact('Coordinator', esc(r.coordinator) + (r.epoch !== undefined ? ` <span class="muted">(epoch ${esc(r.epoch)})</span>` : '')),
    fact('Mode', esc(r.mode)),
    fact('Started', esc(clock(r.created_at))),
    fact('Duration', esc(duration(span(r.created_at, r.ended_at))), FINAL_EXECUTION.has(r.status) ? '' : `data-live-span="${esc(r.created_at)}"`),
    fact('Steps', `${done}/${r.steps.length}`),
    ...(r.requested_by ? [fact('Requested by', esc(r.requested_by))] : []),
  ].join('');
  $('execution-error').innerHTML = r.error
    ? `<div class="failure" role="alert"><strong>${esc(r.error.type)}${r.error.step ? ` in step ${esc(r.error.step)}` : ''}</strong><pre>${esc(r.error.message)}</pre></div>`
    : '';
  const cancel = $('cancel');
  cancel.hidden = FINAL_EXECUTION.has(r.status);
  cancel.disabled = false;
  $('graph-note').textContent = graph.source === 'observed'
    ? 'Arrows show the order the steps took: each step follows those that ended before it started.'
    : 'Arrows are the workflow\'s edges; a loop\'s steps hang under it, once per iteration.';
  renderGraph($('graph'), r, graph);
  renderTimeline($('timeline'), r);
  $('steps-body').innerHTML = r.steps
    .map((s) => `<tr data-step="${esc(s.id)}"><td class="mono">${esc(s.id)}</td><td>${badge(s.status)}</td><td>${esc(s.node ?? '')}</td>` +
      `<td class="num">${esc(s.history?.length ?? s.attempts)}</td><td class="num">${esc(duration(span(s.started_at, s.ended_at)))}</td>` +
      `<td>${s.error ? `<pre>${esc(s.error.type)}: ${esc(s.error.message)}</pre>` : ''}${historyErrors(s)}</td></tr>`)
    .join('');
  const handovers = Array.isArray(r.handovers) ? r.handovers : [];
  $('handovers-section').hidden = handovers.length === 0;
  $('handovers-body').innerHTML = handovers
    .map((h) => `<tr><td>${esc(clock(h.at))}</td><td>${esc(h.from ?? '')}</td><td>${esc(h.node)}</td><td class="num">${esc(h.epoch)}</td><td>${esc(h.reason)}</td></tr>`)
    .join('');
}

/** Earlier attempts' errors, in full: a retried step that finally worked still tells why it was retried. */
function historyErrors(s) {
  if (!Array.isArray(s.history)) return '';
  return s.history
    .filter((h) => h.error && h !== s.history[s.history.length - 1])
    .map((h) => `<pre class="muted">attempt ${esc(h.attempt)} on ${esc(h.node)}: ${esc(h.error.type ?? '')}${h.error.message ? `: ${esc(h.error.message)}` : ''}</pre>`)
    .join('');
}

$('cancel').addEventListener('click', async () => {
  const r = state.current?.record;
  if (!r || !confirm(`Cancel execution ${r.execution_id}?`)) return;
  $('cancel').disabled = true;
  $('cancel-result').textContent = 'Cancelling…';
  try {
    const res = await api(`/executions/${encodeURIComponent(r.execution_id)}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    $('cancel-result').textContent = `Execution ${res.status}.`;
    await loadExecution(r.execution_id);
  } catch (err) {
    if (err instanceof Unauthorized) return showSignIn('');
    $('cancel-result').textContent = `Could not cancel: ${err.message}`;
    $('cancel').disabled = false;
  }
});

// ---- routing ------------------------------------------------------------------------------

function route() {
  if (state.signedOut) return;
  const hash = location.hash || '#/mesh';
  const m = /^#\/executions\/(.+)$/.exec(hash);
  const view = m ? 'execution' : hash.startsWith('#/executions') ? 'executions' : 'mesh';
  for (const v of ['mesh', 'executions', 'execution']) $(`view-${v}`).hidden = v !== view;
  $('nav-mesh').toggleAttribute('aria-current', view === 'mesh');
  if (view === 'mesh') $('nav-mesh').setAttribute('aria-current', 'page');
  $('nav-executions').toggleAttribute('aria-current', view !== 'mesh');
  if (view !== 'mesh') $('nav-executions').setAttribute('aria-current', 'page');
  if (view === 'mesh' && state.mesh) renderMesh($('regions'), state.mesh);
  if (view === 'executions') loadExecutions();
  if (view === 'execution') {
    const id = decodeURIComponent(m[1]);
    if (state.current?.record.execution_id !== id) {
      state.current = undefined;
      $('execution-title').textContent = `Execution ${id}`;
      for (const el of ['execution-facts', 'execution-error', 'graph', 'timeline', 'steps-body', 'graph-note']) $(el).innerHTML = '';
      $('cancel').hidden = true;
      $('cancel-result').textContent = '';
    }
    loadExecution(id);
  }
}

// The timeline fills the width it has: draw it again when that changes.
window.addEventListener('resize', () => soon('resize', () => {
  if (state.current && !$('view-execution').hidden) renderTimeline($('timeline'), state.current.record);
}, 150));

window.addEventListener('hashchange', () => {
  route();
  $('main').focus({ preventScroll: true });
});

// Clocks on the page ("3 s ago", a running duration) move on their own; nothing is fetched.
setInterval(() => {
  if (state.mesh && !$('view-mesh').hidden) tickMesh($('regions'), state.mesh, Date.now() - state.meshAt);
  for (const el of document.querySelectorAll('[data-live-span]')) {
    if (el.dataset.liveSpan) el.textContent = duration(span(el.dataset.liveSpan));
  }
}, 1000);

export { ago };
connect();
route();
