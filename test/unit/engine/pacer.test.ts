import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalStepRunner, runExecution } from '../../../src/engine/index.js';
import { pacer } from '../../../src/engine/context.js';
import { loadWorkflowDocument } from '../../../src/workflow/index.js';
import { TEST_TOOLS, TestExecutor } from './helpers.js';

/** A clock the test moves, and setImmediate counted (the test's own turns use the real one). */
function rig(): { clock: { ms: number }; armed: () => number; turn: () => Promise<void>; restore: () => void } {
  const clock = { ms: 1_000 };
  const original = globalThis.setImmediate;
  let armed = 0;
  globalThis.setImmediate = ((...args: Parameters<typeof setImmediate>) => {
    armed++;
    return original(...args);
  }) as typeof setImmediate;
  return { clock, armed: () => armed, turn: () => new Promise((r) => original(r)), restore: () => (globalThis.setImmediate = original) };
}

test('a run that never lets the event loop turn is told to wait once it has run for the slice, not before', () => {
  const { clock, restore } = rig();
  try {
    const pace = pacer(10, () => clock.ms);
    const waitedAt: number[] = [];
    for (let t = 0; t <= 12; t++) {
      clock.ms = 1_000 + t;
      if (pace() !== undefined) waitedAt.push(t);
    }
    assert.deepEqual(waitedAt, [10, 11, 12]);
  } finally {
    restore();
  }
});

test('a chain of round trips never waits, and watches for a turn about once a millisecond, not every step', async () => {
  const { clock, armed, turn, restore } = rig();
  try {
    const pace = pacer(10, () => clock.ms);
    const steps = 100;
    for (let i = 0; i < steps; i++) {
      assert.equal(pace(), undefined, `step ${i}`);
      await turn(); // the round trip: the loop turns...
      clock.ms += 0.3; // ...and takes 0.3 ms
    }
    // 30 ms of steps: a watch when the last turn seen is a millisecond old, then the turn resets it.
    assert.ok(armed() >= 10 && armed() <= 30, `${armed()} immediates for ${steps} steps of 0.3 ms`);
  } finally {
    restore();
  }
});

test('slow steps with the loop turning between them never wait', async () => {
  const { clock, turn, restore } = rig();
  try {
    const pace = pacer(10, () => clock.ms);
    for (let i = 0; i < 20; i++) {
      assert.equal(pace(), undefined, `step ${i}`);
      await turn();
      await turn(); // the turn the pacer watched for ran: it saw the loop then
      clock.ms += 8; // a step of 8 ms
    }
  } finally {
    restore();
  }
});

test('a long run of in-process steps lets timers run', async () => {
  const n = 3_000;
  const steps = Array.from({ length: n }, (_, i) => `      - {id: s${i}, tool: echo, args: {n: ${i}}${i + 1 < n ? `, output: {to: s${i + 1}}` : ''}}`).join('\n');
  const document = loadWorkflowDocument(`workflows:\n  w:\n    steps:\n${steps}\n`, { knownToolTypes: TEST_TOOLS });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = Date.now();
  const record = await runExecution({ document, input: 'x', runner: new LocalStepRunner(new TestExecutor(), 'here'), mode: 'sync', coordinator: 'here' });
  const took = Date.now() - started;
  clearInterval(timer);
  assert.equal(record.status, 'completed');
  assert.equal(record.steps_done, n);
  // Every step is a microtask away from the last: without the pacer no timer could run until the end.
  if (took >= 30) assert.ok(ticks > 0, `no timer ran during ${took} ms of steps`);
});
