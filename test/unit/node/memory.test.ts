import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectGarbage, releaseStartupMemory } from '../../../src/node/memory.js';

test('the fallback collection runs without exposing gc on the global, and its timer does not hold the process open', async () => {
  const hadGc = typeof (globalThis as { gc?: unknown }).gc;
  collectGarbage();
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, hadGc);
  releaseStartupMemory(0);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, hadGc);
  releaseStartupMemory(60_000); // unref'd: this test file still ends at once
});
