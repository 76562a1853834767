import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEntry, snapshot } from '../../../src/store/bucket.js';
import { natsForTests } from '../../harness/nats.js';

const shared = natsForTests();

test('forEachEntry hands over each live entry once, in order, awaiting the callback; snapshot collects the same', { timeout: 60_000 }, async () => {
  const kv = await shared.nc.jetstream().views.kv(`entries_${process.pid}`, { history: 1 });
  for (let i = 0; i < 30; i++) await kv.put(`k${String(i).padStart(2, '0')}`, new TextEncoder().encode(`v${i}`));
  await kv.put('k05', new TextEncoder().encode('v5-again')); // the newest value only, in its new place
  await kv.delete('k07');
  const seen: string[] = [];
  let inCallback = 0;
  await forEachEntry(kv, async (e) => {
    inCallback++;
    assert.equal(inCallback, 1, 'one callback at a time');
    await new Promise((r) => setImmediate(r));
    seen.push(`${e.key}=${new TextDecoder().decode(e.value)}`);
    inCallback--;
  });
  const expected = [...Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 5 && i !== 7).map((i) => `k${String(i).padStart(2, '0')}=v${i}`), 'k05=v5-again'];
  assert.deepEqual(seen, expected);
  assert.deepEqual((await snapshot(kv)).map((e) => `${e.key}=${new TextDecoder().decode(e.value)}`), expected);
  const none: string[] = [];
  // Its own timeout far past the test's limit: it must end because the (empty) snapshot did.
  await forEachEntry(kv, (e) => void none.push(e.key), { timeoutMs: 10 * 60_000, key: 'nothing.*' });
  assert.deepEqual(none, [], 'a filter that matches nothing ends with the snapshot');
});

// With the bug this guards against, the pass ran into its own timeout (here 10 minutes) instead of
// ending: the test's own limit fails it.
test('a pass over a bucket whose newest entry is a delete ends when the entries do', { timeout: 60_000 }, async () => {
  const kv = await shared.nc.jetstream().views.kv(`entries_del_${process.pid}`, { history: 1 });
  await kv.put('a', new TextEncoder().encode('1'));
  await kv.put('b', new TextEncoder().encode('2'));
  await kv.delete('b');
  const seen: string[] = [];
  await forEachEntry(kv, (e) => void seen.push(e.key), { timeoutMs: 10 * 60_000 });
  assert.deepEqual(seen, ['a']);
  assert.deepEqual((await snapshot(kv, 10 * 60_000)).map((e) => e.key), ['a']);
});

test('from a revision: only what was written since, each key at its newest write, deletes when asked for', { timeout: 60_000 }, async () => {
  const kv = await shared.nc.jetstream().views.kv(`entries_since_${process.pid}`, { history: 1 });
  const put = (k: string, v: string) => kv.put(k, new TextEncoder().encode(v));
  await put('a', '1');
  const mark = await put('b', '1');
  await put('c', '1');
  await put('a', '2');
  await kv.delete('b');
  await put('c', '2');
  const read = async (withDeletes: boolean, fromRevision: number) => {
    const seen: string[] = [];
    await forEachEntry(kv, (e) => void seen.push(`${e.key}:${e.operation}`), { timeoutMs: 10 * 60_000, fromRevision, withDeletes });
    return seen;
  };
  assert.deepEqual(await read(true, mark + 1), ['a:PUT', 'b:DEL', 'c:PUT']);
  assert.deepEqual(await read(false, mark + 1), ['a:PUT', 'c:PUT']);
  assert.deepEqual(await read(true, 10_000), [], 'past the newest write: nothing, and the pass ends');
});
