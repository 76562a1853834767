// Preloaded into a Node process (`node --import ./bench/turnaround-probe.mjs ...`), or imported:
// the process's own share of a round trip, from a socket's 'data' event to its next socket write
// (a worker's: request in, reply out; a caller's: reply in, next request out). Used by
// `bench/profile-step.ts --turnaround`. On SIGUSR2 the process appends its figures since the last
// report to the file named by TURNAROUND_OUT, one JSON line, and starts again.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

let dataAt = 0;
let samples = [];
let wroteAt = 0;
let away = [];

const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, ...args) {
  if (event === 'data') {
    dataAt = performance.now();
    if (wroteAt) {
      away.push(dataAt - wroteAt);
      wroteAt = 0;
    }
  }
  return emit.call(this, event, ...args);
};
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (...args) {
  if (dataAt) {
    wroteAt = performance.now();
    samples.push(wroteAt - dataAt);
    dataAt = 0;
  }
  return write.apply(this, args);
};

/**
 * p25, p50 and p75 in µs of the turnarounds since the last report, and their count; `away_p50`:
 * from a write to the next data (the servers, the wire and the peer: a caller's wait for its
 * reply); starts again.
 */
export function report() {
  const sorted = samples.sort((a, b) => a - b);
  const at = (q) => quantileUs(sorted, q);
  const awayP50 = quantileUs(away.sort((a, b) => a - b), 0.5);
  samples = [];
  away = [];
  return { pid: process.pid, n: sorted.length, p25: at(0.25), p50: at(0.5), p75: at(0.75), away_p50: awayP50 };
}

/** The `q` quantile of sorted milliseconds, in µs to a tenth. */
function quantileUs(sorted, q) {
  return Math.round((sorted[Math.floor(sorted.length * q)] ?? 0) * 10_000) / 10;
}

process.on('SIGUSR2', () => {
  const figures = report();
  if (process.env.TURNAROUND_OUT) appendFileSync(process.env.TURNAROUND_OUT, `${JSON.stringify(figures)}\n`);
});
