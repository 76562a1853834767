/**
 * The sorted peer list and its pages, as pure functions: names and ids are subject tokens
 * (ASCII letters, digits, `_` and `-`), so plain code-unit comparison orders them, with none of
 * localeCompare's cost.
 */
import type { Advertisement } from '../protocol/advert.js';

export function byNameThenId(a: { name: string; id: string }, b: { name: string; id: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** First index whose element sorts after `key` (binary search). */
function upperBound(list: readonly Advertisement[], key: { name: string; id: string }): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byNameThenId(list[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A new array with `ad` in its place (the old one is left as it was). */
export function insertSorted(list: readonly Advertisement[], ad: Advertisement): Advertisement[] {
  const at = upperBound(list, ad);
  const out = list.slice(0, at);
  out.push(ad);
  for (let i = at; i < list.length; i++) out.push(list[i]!);
  return out;
}

/** FNV-1a, 32 bits: member ids hashed for the membership digest. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface PageQuery {
  /** `next_cursor` of the previous page. */
  cursor?: string | undefined;
  limit?: number | undefined;
  /** Exact region, or a prefix with `*` (`eu-*`). */
  region?: string | undefined;
  labels?: Record<string, string> | undefined;
}

export interface Page {
  nodes: Advertisement[];
  next_cursor?: string;
  /** Matches on every page. */
  total: number;
}

export const DEFAULT_PAGE = 500;

const cursorOf = (p: Advertisement) => `${p.name}:${p.id}`;

function matches(p: Advertisement, q: PageQuery): boolean {
  if (q.region !== undefined) {
    const ok = q.region.endsWith('*') ? p.region.startsWith(q.region.slice(0, -1)) : p.region === q.region;
    if (!ok) return false;
  }
  if (q.labels) for (const [k, v] of Object.entries(q.labels)) if (p.labels[k] !== v) return false;
  return true;
}

/** One page of a sorted list: the matches after the cursor, at most `limit` of them. Pure. */
export function pageOf(sorted: readonly Advertisement[], q: PageQuery): Page {
  const limit = Math.max(1, q.limit ?? DEFAULT_PAGE);
  let start = 0;
  if (q.cursor) {
    const sep = q.cursor.indexOf(':');
    start = upperBound(sorted, sep < 0 ? { name: q.cursor, id: '' } : { name: q.cursor.slice(0, sep), id: q.cursor.slice(sep + 1) });
  }
  const filtered = q.region !== undefined || (q.labels !== undefined && Object.keys(q.labels).length > 0);
  let total = filtered ? 0 : sorted.length;
  if (filtered) for (const p of sorted) if (matches(p, q)) total++;
  const nodes: Advertisement[] = [];
  let i = start;
  for (; i < sorted.length && nodes.length < limit; i++) if (!filtered || matches(sorted[i]!, q)) nodes.push(sorted[i]!);
  if (filtered) while (i < sorted.length && !matches(sorted[i]!, q)) i++;
  const last = nodes.at(-1);
  return { nodes, total, ...(i < sorted.length && last && { next_cursor: cursorOf(last) }) };
}
