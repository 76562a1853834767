import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoTime } from '../../../src/protocol/iso-time.js';

test('isoTime is toISOString, whatever order the milliseconds come in', () => {
  const base = Date.UTC(2026, 11, 2, 7, 59, 59, 998);
  for (const ms of [base, base, base + 1, base + 2, base, 0, base + 86_400_000, base + 86_400_000]) {
    assert.equal(isoTime(ms), new Date(ms).toISOString());
  }
});

test('isoTime is toISOString across seconds, days and years, before 1970, past 9999 and between milliseconds', () => {
  const base = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
  for (let ms = base; ms < base + 2_100; ms += 3) assert.equal(isoTime(ms), new Date(ms).toISOString());
  const odd = [-1, -999, -1000, -1001, 0, 1, 999, 1000, 12.5, 1000.25, 253402300799998, 253402300799999, 253402300800000, 253402300800001, -62198755200000, base, base + 0.5, base + 1];
  for (const ms of [...odd, ...[...odd].reverse()]) assert.equal(isoTime(ms), new Date(ms).toISOString(), `at ${ms}`);
});

test('isoTime throws for a time out of range, every time it is asked, as toISOString does', () => {
  isoTime(Date.UTC(2026, 11, 6));
  for (let i = 0; i < 2; i++) assert.throws(() => isoTime(8.64e15 + 1), RangeError);
  assert.equal(isoTime(Date.UTC(2026, 11, 6)), '2026-12-06T00:00:00.000Z');
});
