import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoTime } from '../../../src/protocol/iso-time.js';

test('isoTime is toISOString, whatever order the milliseconds come in', () => {
  const base = Date.UTC(2026, 11, 2, 7, 59, 59, 998);
  for (const ms of [base, base, base + 1, base + 2, base, 0, base + 86_400_000, base + 86_400_000]) {
    assert.equal(isoTime(ms), new Date(ms).toISOString());
  }
});
