import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { logWriteMode } from '../../../src/log/index.js';

const FIXTURE = fileURLToPath(new URL('./log-writer.fixture.ts', import.meta.url));

/** Runs the fixture with WFMESH_LOG_WRITE=mode; returns what it printed and the lines on its stderr. */
function runWriter(mode: string, count: number): { afterPause: number; lines: Record<string, unknown>[]; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'wfmesh-log-'));
  try {
    const file = join(dir, 'stderr.log');
    const fd = openSync(file, 'w');
    const res = spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, String(count), file], {
      stdio: ['ignore', 'pipe', fd],
      env: { ...process.env, WFMESH_LOG_WRITE: mode, WFMESH_LOG_FORMAT: 'json', WFMESH_LOG_LEVEL: 'info' },
      timeout: 60_000,
    });
    closeSync(fd);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    return { afterPause: Number(res.stdout.toString().trim()), lines, status: res.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const mode of ['batched', 'sync']) {
  test(`WFMESH_LOG_WRITE=${mode}: every audit line arrives whole, in order with the other lines, stamped when it was logged; the last ones on exit`, () => {
    const count = 500;
    const plain = count / 100;
    const { afterPause, lines, status } = runWriter(mode, count);
    assert.equal(status, 0);
    assert.equal(afterPause, count + plain, 'lines logged before a pause are written without waiting for more');
    assert.equal(lines.length, count + plain + 3);
    const audit = lines.filter((line) => line.audit === true);
    assert.equal(audit.length, count + 3);
    audit.forEach((line, i) => {
      assert.equal(line.execution_id, `ex-${i}`, `line ${i} in order`);
      assert.equal(line.msg, `audit: step ex-${i}/s1 ${i === 250 ? 'failed' : 'completed'}`);
      // Multi-byte text arrives intact, wherever it fell in a batch.
      if (i < count) assert.equal(line.requested_by, i % 7 === 0 ? `clé-✓-😀-${i}` : 'test');
    });
    assert.equal((audit[250]!.error as { message: string }).message, 'é'.repeat(40_000));
    // Each plain line right after the hundredth audit line before it.
    lines.forEach((line, k) => {
      if (line.audit === true) return;
      assert.equal(line.msg, 'a plain line');
      assert.equal(lines[k - 1]!.execution_id, line.after, `the plain line after ${String(line.after)} is in its place`);
    });
    // Lines logged 15 ms apart say so, whenever their batch was written.
    const [a, b, c] = audit.slice(count).map((line) => line.time as number);
    assert.ok(b! - a! >= 10 && c! - b! >= 10, `times ${a}, ${b}, ${c} are those of the events`);
  });
}

test('WFMESH_LOG_WRITE defaults to batched and refuses other values by name', () => {
  assert.equal(logWriteMode({}), 'batched');
  assert.equal(logWriteMode({ WFMESH_LOG_WRITE: 'sync' }), 'sync');
  assert.throws(() => logWriteMode({ WFMESH_LOG_WRITE: 'async' }), /not one of/);
  assert.throws(() => logWriteMode({ WFMESH_LOG_WRITE: 'fast' }), /WFMESH_LOG_WRITE: "fast" is not one of batched, sync/);
});
