/**
 * `new Date(ms).toISOString()`, remembered for the last millisecond asked: the step path stamps
 * every reply and every answered peer, often many times within one millisecond, and building the
 * string (about 1 µs) was a visible share of a step's CPU.
 */
let lastMs = Number.NaN;
let lastIso = '';

export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
