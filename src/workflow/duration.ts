/** Durations as written in workflows: `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when the value is not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000));
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
