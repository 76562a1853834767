// Small formatting helpers shared by the views.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text made safe for HTML (every value that came from the mesh goes through this). */
export const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);

export const FINAL_STEP = new Set(['completed', 'failed', 'skipped', 'cancelled']);
export const FINAL_EXECUTION = new Set(['completed', 'failed', 'cancelled']);

export function duration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** From `start` to `end`, or to now while it runs. */
export function span(start, end) {
  if (!start) return undefined;
  return (end ? Date.parse(end) : Date.now()) - Date.parse(start);
}

export function ago(ms) {
  if (ms < 1500) return 'just now';
  return `${duration(Math.round(ms / 1000) * 1000)} ago`;
}

export function clock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

export function mib(n) {
  if (!Number.isFinite(n)) return '';
  return n >= 1024 ? `${(n / 1024).toFixed(n >= 10240 ? 0 : 1)} GiB` : `${n} MiB`;
}

export const badge = (status) => `<span class="badge" data-status="${esc(status)}">${esc(String(status).toLowerCase())}</span>`;
