/** Percentile of a sample (nearest rank); NaN for an empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The median and 99th percentile of a set of latencies. */
export interface Summary {
  p50: number;
  p99: number;
}

/** p50/p99 of latencies. */
export function summary(values: readonly number[], digits = 1): Summary {
  return { p50: round(percentile(values, 50), digits), p99: round(percentile(values, 99), digits) };
}

/** Median over rounds of each field of {p50, p99}. */
export function medianSummary(rounds: Summary[], digits = 1): Summary {
  return { p50: round(median(rounds.map((r) => r.p50)), digits), p99: round(median(rounds.map((r) => r.p99)), digits) };
}

export const nowUs = () => Number(process.hrtime.bigint() / 1000n);
