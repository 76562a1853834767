import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadCount } from '../../../src/nats/read-count.js';

test('a read is counted message by message until its microtasks run, then known as the last read', async () => {
  const reads = new ReadCount();
  assert.deepEqual([reads.inRead, reads.lastRead], [0, 0]);
  for (let i = 1; i <= 3; i++) {
    reads.note();
    assert.equal(reads.inRead, i, 'each message counted in the read under way');
  }
  let seenInMicrotask: number[] = [];
  queueMicrotask(() => (seenInMicrotask = [reads.inRead, reads.lastRead]));
  await Promise.resolve();
  assert.deepEqual(seenInMicrotask, [0, 3], "the read's callers see it ended, with three messages");
  reads.note();
  assert.equal(reads.inRead, 1, 'the next read counts from one');
  await Promise.resolve();
  assert.equal(reads.lastRead, 1);
});
