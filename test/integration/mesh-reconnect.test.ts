import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, Empty } from 'nats';
import { freePort, startNatsServer } from '../../src/nats/index.js';
import { subjects } from '../../src/protocol/subjects.js';
import { freezeServer, holdPort, startTestCluster } from '../harness/nats.js';
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

test('a node whose server stops answering (frozen, its socket open) moves to another server: a probe unanswered twice makes it ask its server for a PONG; the views heal', async () => {
  const nats = await startTestCluster();
  // Heartbeat 200 ms: probes every 100-400 ms, a PONG awaited for 500 ms. nats.js's own pings
  // (every 30 s, two missed) would take a minute.
  const env = { WFMESH_HEARTBEAT_MS: '200' };
  const a = await startTestNode(nats.urls[0]!, { name: 'frz-a', noMcp: true }, env);
  const b = await startTestNode(nats.urls[1]!, { name: 'frz-b', noMcp: true }, env);
  const frozen = nats.servers[1]!;
  try {
    const sees = (n: typeof a, name: string) => n.registry.list().some((p) => p.name === name);
    await eventually(() => sees(a, 'frz-b') && sees(b, 'frz-a'), 'a and b see each other');
    const was = b.nc.getServer();
    await freezeServer(frozen);
    await eventually(() => b.nc.getServer() !== was, 'b left its frozen server', 20_000);
    // Each declared the other dead, through servers that did not pass it on: b rejoins under a higher
    // incarnation; a, which never heard of its death, is asked to refute when it probes b.
    await eventually(() => sees(a, 'frz-b') && sees(b, 'frz-a'), 'a and b see each other again', 20_000);
    assert.notEqual(a.nc.getServer(), was, 'a was never on the frozen server');

    // The frozen server still holds b's old subscriptions, and the other servers its interest in
    // them until their routes to it time out (minutes). Requests to b's own subjects from a third
    // server are all answered all the same: none is handed to the frozen server alone (as a queue
    // group member would be).
    const port = (url: string) => new URL(url).port;
    const third = nats.urls.find((u, i) => i !== 1 && !b.nc.getServer().endsWith(`:${port(u)}`))!;
    const client = await connect({ servers: third });
    try {
      const lost: string[] = [];
      for (let i = 0; i < 20; i++) {
        for (const subject of [subjects.probe('frz-b', b.id), subjects.view('frz-b', b.id)]) {
          await client.request(subject, Empty, { timeout: 1_000 }).catch(() => lost.push(subject));
        }
      }
      assert.deepEqual(lost, [], 'every probe and view request to the node that moved is answered');
    } finally {
      await client.close();
    }
  } finally {
    frozen.kill('SIGCONT');
    await stopAll([a, b]);
    await nats.stop();
  }
});
