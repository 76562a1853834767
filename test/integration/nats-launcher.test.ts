import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startNatsCluster, startNatsServer } from '../../src/nats/index.js';
import { MeshError } from '../../src/protocol/errors.js';

/** Processes whose command line mentions `text` (the nats-servers started from one work folder). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

describe('starting nats-server', () => {
  const dirs: string[] = [];
  const workDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'wfmesh-launcher-'));
    dirs.push(dir);
    return dir;
  };
  let holder: Server | undefined;
  after(() => {
    holder?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('a port that is taken fails the start with the server\'s own reason and its log', async () => {
    holder = createServer();
    const port = await new Promise<number>((resolve) => holder!.listen(0, '127.0.0.1', () => resolve((holder!.address() as { port: number }).port)));
    const dir = workDir();
    await assert.rejects(startNatsServer({ workDir: dir, port }), (err: unknown) => {
      assert.ok(err instanceof MeshError);
      assert.equal(err.code, 'NATS_CONNECT');
      assert.match(err.message, new RegExp(`exited with code 1 during start-up: .*${port}.*address already in use`));
      assert.match(err.message, new RegExp(`its log: ${dir}/.*\\.log`));
      return true;
    });
  });

  test('a cluster one of whose servers cannot start leaves none of them running', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    const dir = workDir();
    writeFileSync(join(dir, 'js-2'), 'a file where the second server\'s JetStream folder goes');
    await assert.rejects(startNatsCluster({ workDir: dir, size: 3, jetstream: true }), /EEXIST|not a directory|exists/);
    assert.deepEqual(processesMentioning(dir), [], 'the servers that did start were stopped');
  });
});
