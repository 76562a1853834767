// Preloaded into the bench's worker bench-w2 (`node --expose-gc --import ./bench/heap-probe.mjs`):
// dormant until SIGUSR2, which collects all garbage and prints one `heap {...}` line on stderr
// with the live heap after that collection. RSS alone cannot tell a leak from V8's sizing (its
// young generation grows to its cap under load, and old-space garbage waits for the next
// mark-compact); the live heap after a full collection can.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const liveMib = Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
  process.stderr.write(`heap ${JSON.stringify({ live_heap_mib: liveMib })}\n`);
});
