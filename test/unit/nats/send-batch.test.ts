import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SendBatch } from '../../../src/nats/send-batch.js';

test('sends queued in one turn run together after it, in order, and settled() waits for them', async () => {
  const batch = new SendBatch();
  const ran: number[] = [];
  for (let i = 0; i < 5; i++) batch.add(() => ran.push(i));
  assert.deepEqual(ran, [], 'nothing runs before the turn ends');
  await batch.settled();
  assert.deepEqual(ran, [0, 1, 2, 3, 4]);
  await batch.settled(); // nothing queued: resolves at once
});

test('a send that throws does not stop the ones after it', async () => {
  const batch = new SendBatch();
  const ran: string[] = [];
  batch.add(() => ran.push('a'));
  batch.add(() => {
    throw new Error('connection closed');
  });
  batch.add(() => ran.push('c'));
  await batch.settled();
  assert.deepEqual(ran, ['a', 'c']);
});

test('sends queued while a batch runs go out in the next one', async () => {
  const batch = new SendBatch();
  const ran: string[] = [];
  batch.add(() => {
    ran.push('first');
    batch.add(() => ran.push('second'));
  });
  await batch.settled();
  assert.deepEqual(ran, ['first']);
  await batch.settled();
  assert.deepEqual(ran, ['first', 'second']);
});

test('flush runs what is queued now; what is queued after it still runs at the end of the turn, once', async () => {
  const batch = new SendBatch();
  const ran: string[] = [];
  batch.add(() => ran.push('early'));
  batch.flush();
  assert.deepEqual(ran, ['early'], 'flushed at once');
  batch.add(() => ran.push('late'));
  assert.deepEqual(ran, ['early']);
  await batch.settled();
  assert.deepEqual(ran, ['early', 'late']);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, ['early', 'late'], 'nothing ran twice');
});
