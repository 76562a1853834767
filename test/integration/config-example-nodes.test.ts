/**
 * The example node configs (config/nodes/) start real nodes that find each other on one
 * nats-server and advertise what their files say: regions, labels, declared GPUs, tools, MCP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { silentLogger } from '../../src/log/index.js';
import { compileNodeOptions, startNode, type MeshNode } from '../../src/node/index.js';
import type { Advertisement } from '../../src/protocol/advert.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { repoRoot, waitFor } from '../harness/processes.js';

let nats: TestNats;
const nodes: MeshNode[] = [];

before(async () => {
  nats = await startTestNats({ useEnv: false });
  for (const file of ['gpu-node.yaml', 'eu-node.yaml', 'edge-node.yaml']) {
    // Only the NATS address and the port change: both are what an operator overrides per host.
    const options = compileNodeOptions({ config: join(repoRoot, 'config/nodes', file), nats: nats.url, mcpPort: 0 }, { WFMESH_HEARTBEAT_MS: '250' });
    nodes.push(await startNode(options, silentLogger()));
  }
});

after(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()));
  await nats?.stop();
});

test('the GPU, EU and edge example nodes see each other as their files describe them', async () => {
  const eu = nodes[1]!;
  // Capabilities come with discovery, live load with the first heartbeat: wait for both.
  const peers = await waitFor('three peers with their first heartbeat in the EU node registry', () => {
    const list = eu.registry.list() as Advertisement[];
    return list.length === 3 && list.find((p) => p.name === 'gpu-1')?.load.max_concurrency === 4 ? list : undefined;
  });
  const byName = new Map(peers.map((p) => [p.name, p]));
  const gpu = byName.get('gpu-1');
  const euAd = byName.get('eu-1');
  const edge = byName.get('edge-1');
  assert.ok(gpu && euAd && edge, [...byName.keys()].join(','));

  assert.equal(gpu.region, 'us-east');
  assert.deepEqual(gpu.labels, { tier: 'gpu', accelerator: 'h100' });
  assert.deepEqual(gpu.gpus, [{ vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81559, declared: true }]);
  assert.deepEqual(gpu.models, ['meta-llama/Llama-3.1-8B-Instruct']);

  assert.equal(euAd.region, 'eu-west');
  assert.ok(euAd.tools.includes('shell'), 'eu-node allow-lists a shell command, so it offers shell');
  assert.ok(euAd.mcp_url?.endsWith('/mcp'));

  assert.equal(edge.region, 'ap-southeast');
  assert.equal(edge.mcp_url, null, 'the edge node has no MCP endpoint');
  assert.deepEqual([...edge.tools].sort(), ['echo', 'http', 'sleep', 'transform']);
  assert.equal(edge.cpu.cores, 4, 'declared CPUs');

  // Without MCP, the edge node still serves its health.
  const health = await fetch(`${nodes[2]!.http.url}/healthz`);
  assert.equal(health.status, 200);
});
