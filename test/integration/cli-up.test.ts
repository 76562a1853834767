import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { probeHardware } from '../../src/mesh/probe.js';
import { freePort } from '../../src/nats/index.js';
import { connect } from 'nats';
import type { Advertisement, MeshView } from '../../src/protocol/advert.js';
import { subjects } from '../../src/protocol/subjects.js';
import { spawnCli } from '../harness/processes.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('wfmesh up: its own nats-server and N nodes; `nodes --json` lists them; Ctrl-C leaves no process behind', async () => {
  const [natsPort, monitorPort, mcpPort] = [await freePort(), await freePort(), await freePort()];
  const data = mkdtempSync(join(tmpdir(), 'wfmesh-up-'));
  const up = spawnCli(['up', '--nodes', '3', '--nats-port', String(natsPort), '--monitor-port', String(monitorPort), '--mcp-port', String(mcpPort), '--data', data]);
  try {
    await up.waitFor('wfmesh is up', 60_000);
    const serverPid = Number(/"pid":(\d+)[^\n]*started nats-server/.exec(up.stderr())?.[1]);
    assert.ok(serverPid > 0 && alive(serverPid), 'nats-server runs');
    const varz = (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as { jetstream?: { config?: unknown } };
    assert.ok(varz.jetstream?.config, 'JetStream is on');
    assert.equal((await fetch(`http://127.0.0.1:${mcpPort}/healthz`)).status, 200);

    const nodes = spawnCli(['nodes', '--json', '--nats', `nats://127.0.0.1:${natsPort}`]);
    assert.equal((await nodes.exited).code, 0, nodes.stderr());
    const listed = JSON.parse(nodes.stdout()) as Advertisement[];
    assert.deepEqual(listed.map((n) => n.name), ['node-1', 'node-2', 'node-3']);
    assert.equal(new Set(listed.map((n) => n.region)).size, 3, 'distinct regions');
    // Whatever the machine has (none here, some on a GPU machine): what the probe finds on it.
    const probed = JSON.parse(JSON.stringify((await probeHardware()).gpus)) as unknown;
    for (const n of listed) {
      assert.ok(n.cpu.cores > 0 && n.memory.total_mib > 0);
      assert.deepEqual(n.gpus, probed);
      for (const g of n.gpus) assert.ok(g.vendor && g.model && g.vram_mib > 0, JSON.stringify(g));
    }
    assert.equal(listed[0]?.mcp_url, `http://127.0.0.1:${mcpPort}/mcp`);

    // Every node's own view, not only the one that answered: a member it learnt from another
    // node's view or from its announcement shows that member's real concurrency and free memory
    // (an idle mesh probes only each node's ring successor, so nothing else brings them soon).
    const nc = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
    try {
      const own = new Map<string, Advertisement>();
      const views = new Map<string, Advertisement[]>();
      for (const n of listed) {
        const view = JSON.parse(new TextDecoder().decode((await nc.request(subjects.view(n.name, n.id), new Uint8Array(0), { timeout: 5_000 })).data)) as MeshView;
        views.set(n.name, view.nodes);
        own.set(n.name, view.nodes.find((m) => m.id === n.id)!);
      }
      for (const [viewer, nodes] of views) {
        assert.equal(nodes.length, 3, `${viewer} knows every node`);
        for (const m of nodes) {
          assert.equal(m.load.max_concurrency, own.get(m.name)?.load.max_concurrency, `${viewer}'s entry for ${m.name}: ${JSON.stringify(m.load)}`);
          assert.ok(m.memory.free_mib > 0, `${viewer}'s entry for ${m.name} has free memory: ${JSON.stringify(m.memory)}`);
        }
      }
    } finally {
      await nc.close();
    }

    up.kill('SIGINT');
    assert.equal((await up.exited).code, 0, up.stderr());
    assert.equal(alive(serverPid), false, 'nats-server is gone');
  } finally {
    up.kill('SIGKILL');
  }
});
