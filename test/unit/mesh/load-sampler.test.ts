import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuPctBetween, LiveLoadSampler, parseProcStat } from '../../../src/mesh/load-sampler.js';

const STAT = `cpu  100 5 50 800 40 0 5 0 0 0
cpu0 50 2 25 400 20 0 2 0 0 0
intr 12345
`;

test('the aggregate cpu line of /proc/stat reads as idle (idle + iowait) and total ticks', () => {
  assert.deepEqual(parseProcStat(STAT), { idle: 840, total: 1000 });
  assert.equal(parseProcStat('cpu0 1 2 3 4\n'), undefined, 'a per-core line is not the aggregate');
  assert.equal(parseProcStat(''), undefined);
  assert.equal(parseProcStat('cpu  a b c d\n'), undefined);
});

test('CPU % is the busy share of the ticks between two readings', () => {
  const a = { idle: 840, total: 1000 };
  assert.equal(cpuPctBetween(a, { idle: 840 + 75, total: 1000 + 100 }), 25);
  assert.equal(cpuPctBetween(a, { idle: 840 + 100, total: 1000 + 100 }), 0);
  assert.equal(cpuPctBetween(a, { idle: 840, total: 1000 + 100 }), 100);
  assert.equal(cpuPctBetween(a, a), 0, 'no ticks elapsed: no figure to invent');
  assert.equal(cpuPctBetween({ idle: 0, total: 0 }, a), 16, 'the first reading is the average since boot');
});

test('the sampler takes readings of this machine and is shared until its last user stops', () => {
  const a = LiveLoadSampler.acquire(60_000);
  const b = LiveLoadSampler.acquire(60_000);
  assert.equal(a, b, 'one sampler per process');
  assert.ok(a.cpuPct >= 0 && a.cpuPct <= 100, `cpu ${a.cpuPct}`);
  assert.ok(a.freeMib > 0, `free ${a.freeMib}`);
  // Read on demand, at most once per interval: no timer, and readers within it share one reading.
  let readings = 0;
  const sample = a.sample.bind(a);
  a.sample = () => {
    readings++;
    sample();
  };
  for (let i = 0; i < 50; i++) void [a.cpuPct, a.freeMib];
  assert.equal(readings, 0, 'the figures were fresh: no new reading');
  a.sample = sample;
  a.stop();
  b.stop();
  const c = LiveLoadSampler.acquire(60_000);
  assert.notEqual(c, a, 'a new sampler after the last user stopped');
  c.stop();
});
