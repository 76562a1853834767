// Preloaded into a Node process (`node --import ./bench/turnaround-probe.mjs ...`), or imported:
// the process's own share of a round trip, from a socket's 'data' event to its next socket write
// (a worker's: request in, reply out; a caller's: reply in, next request out). Used by
// `bench/profile-step.ts --turnaround`. On SIGUSR2 the process appends its figures since the last
// report to the file named by TURNAROUND_OUT, one JSON line, and starts again.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

let dataAt = 0;
let samples = [];

const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, ...args) {
  if (event === 'data') dataAt = performance.now();
  return emit.call(this, event, ...args);
};
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (...args) {
  if (dataAt) {
    samples.push(performance.now() - dataAt);
    dataAt = 0;
  }
  return write.apply(this, args);
};

/** p25, p50 and p75 in µs of the turnarounds since the last report, and their count; starts again. */
export function report() {
  const sorted = samples.sort((a, b) => a - b);
  const at = (q) => Math.round((sorted[Math.floor(sorted.length * q)] ?? 0) * 10_000) / 10;
  samples = [];
  return { pid: process.pid, n: sorted.length, p25: at(0.25), p50: at(0.5), p75: at(0.75) };
}

process.on('SIGUSR2', () => {
  const figures = report();
  if (process.env.TURNAROUND_OUT) appendFileSync(process.env.TURNAROUND_OUT, `${JSON.stringify(figures)}\n`);
});
