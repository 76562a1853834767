import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { probeHardware } from '../../src/mesh/probe.js';
import { freePort } from '../../src/nats/index.js';
import type { Advertisement } from '../../src/protocol/advert.js';
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

    up.kill('SIGINT');
    assert.equal((await up.exited).code, 0, up.stderr());
    assert.equal(alive(serverPid), false, 'nats-server is gone');
  } finally {
    up.kill('SIGKILL');
  }
});
