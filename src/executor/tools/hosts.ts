import { StepFailure } from '../../protocol/errors.js';

/**
 * Whether `url` may be reached under an allow-list of `host`, `host:port`, `[v6]:port`,
 * `*.domain` (any sub-domain) or `*` (anything). Without a port an entry allows every port.
 */
export function hostAllowed(url: URL, allowList: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowList.some((raw) => {
    const entry = parseEntry(raw.trim().toLowerCase());
    if (entry.port !== undefined && entry.port !== port) return false;
    if (entry.host === '*') return true;
    if (entry.host.startsWith('*.')) return host.endsWith(entry.host.slice(1)) && host.length > entry.host.length - 1;
    return entry.host === host;
  });
}

function parseEntry(entry: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return v6[2] ? { host: v6[1] ?? '', port: v6[2] } : { host: v6[1] ?? '' };
  const m = /^([^:]+):(\d+)$/.exec(entry);
  if (m) return { host: m[1] ?? '', port: m[2] ?? '' };
  return { host: entry };
}

/**
 * Parses an outbound URL and checks it against the node's allow-list; `tool` names the caller in
 * the error (`http`, `mcpremote`).
 */
export function checkOutboundUrl(raw: string, allowList: readonly string[], tool: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StepFailure('invalid_args', `${tool}: "${raw}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StepFailure('denied', `${tool}: only http and https URLs are allowed, not ${url.protocol}`);
  }
  if (allowList.length === 0) {
    throw new StepFailure('denied', `${tool}: host "${url.host}" refused: this node allows no outbound hosts (allow.http_hosts is empty)`);
  }
  if (!hostAllowed(url, allowList)) {
    throw new StepFailure('denied', `${tool}: host "${url.host}" is not in this node's allow-list (allow.http_hosts)`);
  }
  return url;
}
