import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base36Time, newExecutionId } from '../../../src/engine/ids.js';

test('base36Time writes what toString(36) padded to nine digits writes', () => {
  const now = Date.now();
  for (const ms of [0, 1, 35, 36, 1295, 1296, 36 ** 8 - 1, 36 ** 8, now, now + 1, 36 ** 9 - 1, 36 ** 9, 36 ** 10 + 7]) {
    assert.equal(base36Time(ms), ms.toString(36).padStart(9, '0'), String(ms));
  }
});

test('execution ids are time then twelve random characters, all different across pool refills', () => {
  const ids = Array.from({ length: 1_000 }, () => newExecutionId());
  for (const id of ids) assert.match(id, /^[0-9a-z]{9}-[A-Za-z0-9_-]{12}$/);
  assert.equal(new Set(ids.map((id) => id.slice(10))).size, ids.length);
  // Time-ordered: an id made later never sorts before one made earlier.
  assert.ok(ids.every((id, i) => i === 0 || id.slice(0, 9) >= ids[i - 1]!.slice(0, 9)));
});
