import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, startNatsServer } from '../../src/nats/index.js';
import { holdPort } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually } from '../harness/processes.js';

test('losing the NATS server and getting it back: nodes reconnect and the mesh view heals', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'wfmesh-reconnect-'));
  const port = await freePort();
  const monitorPort = await freePort();
  let server = await startNatsServer({ workDir, port, monitorPort });
  const a = await startTestNode(server.url, { name: 'heal-a' });
  const b = await startTestNode(server.url, { name: 'heal-b' });
  try {
    const sees = (n: typeof a, name: string) => n.registry.list().some((p) => p.name === name);
    await eventually(() => sees(a, 'heal-b') && sees(b, 'heal-a'), 'a and b see each other');

    server.kill('SIGKILL');
    await server.exited;
    const held = await holdPort(port); // no other test's server may take it meanwhile
    await eventually(() => !sees(a, 'heal-b') && !sees(b, 'heal-a'), 'peers dropped while NATS is gone');
    const health = await fetch(`${a.http.url}/healthz`);
    assert.equal(health.status, 503, '/healthz reports the lost connection');

    await held.release();
    server = await startNatsServer({ workDir, port, monitorPort });
    await eventually(() => sees(a, 'heal-b') && sees(b, 'heal-a'), 'the view heals after reconnecting', 20_000);
    assert.equal((await fetch(`${a.http.url}/healthz`)).status, 200);
  } finally {
    await stopAll([a, b]);
    await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
});
