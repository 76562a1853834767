// Preloaded into a bench node process (`node --import ./bench/eld-probe.mjs bin/wfmesh.js node`):
// measures its event-loop delay with perf_hooks. SIGUSR2 prints the figures since the last SIGUSR2
// as one `eld {...}` line on stderr and starts a new window. The histogram records the time between
// ticks of a 10 ms timer; the stall is what exceeds those 10 ms.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 10;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();
// When each stall over the 5 ms aim happened, in seconds since the process started, and
// how long it was: tells a start-up collection (the node's own runs 45 s after start, when V8 has
// not released start-up memory itself: src/node/memory.ts) from a pause of the machine.
const LONG_MS = 5;
let longStalls = [];
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  const late = now - last - RESOLUTION_MS;
  last = now;
  if (late > LONG_MS && longStalls.length < 20) longStalls.push({ at_s: Math.round(now / 100) / 10, ms: Math.round(late * 10) / 10 });
}, RESOLUTION_MS).unref();
process.on('SIGUSR2', () => {
  const ms = (ns) => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
  process.stderr.write(`eld ${JSON.stringify({ p99_ms: ms(histogram.percentile(99)), max_ms: ms(histogram.max), mean_ms: ms(histogram.mean), long: longStalls })}\n`);
  histogram.reset();
  longStalls = [];
});
