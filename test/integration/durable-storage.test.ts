/**
 * Durability that does not hang on one process: a nats-server of three killed while executions
 * run (records are replicated), an async run started over `wfmesh mcp --stdio` whose client
 * closes stdin (the stdio node hands it on), and an execution of 10,000 steps recorded whole.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { connect } from 'nats';
import { silentLogger } from '../../src/log/index.js';
import { ExecutionStore } from '../../src/store/index.js';
import { startEffectServer, type EffectServer } from '../harness/effect-server.js';
import { killServerForGood, startTestCluster, startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { repoRoot, waitFor } from '../harness/processes.js';
import type { MeshNode } from '../../src/node/index.js';
import { assertEffectsOnce, effectWorkflow, startMany, TestMesh } from './durable-helpers.js';
import { call, structured } from './mcp-helpers.js';

describe('a 3-server cluster loses one nats-server while executions run', () => {
  let nats: TestNats | undefined;
  let effect: EffectServer | undefined;
  let mesh: TestMesh | undefined;
  let deadPort: { release(): Promise<void> } | undefined;
  after(async () => {
    await mesh?.close();
    await effect?.close();
    await nats?.stop();
    await deadPort?.release();
  });

  test('every execution completes, each effect once; the records were replicated', async () => {
    nats = await startTestCluster();
    effect = await startEffectServer();
    // Every node knows every server: losing one is a reconnect, not a loss.
    mesh = new TestMesh(nats!.urls.join(','), effect);
    await Promise.all([mesh.start('ns-a', [], { mcp: true }), mesh.start('ns-b'), mesh.start('ns-c')]);
    const client = await mesh.client('ns-a');
    const ids = await startMany(client, effectWorkflow(effect.url, 1_000), 10);
    await effect.arrived(':effect:1');
    // The first server (where every node first connected) dies without a word.
    deadPort = await killServerForGood(nats!.servers[0]!);
    mesh.natsUrl = nats!.urls.slice(1).join(','); // the test's own reads go to the survivors
    const records = await mesh.allEnded(ids, 180_000);
    assertEffectsOnce(records, effect);
    const nc = await connect({ servers: nats!.urls.slice(1) });
    const info = await (await nc.jetstreamManager()).streams.info('KV_wfmesh_executions');
    assert.equal(info.config.num_replicas, 3, 'execution records are kept on three servers');
    await nc.close();
  });
});

describe('an async run started over `wfmesh mcp --stdio`', () => {
  let nats: TestNats | undefined;
  const nodes: MeshNode[] = [];
  after(async () => {
    await stopAll(nodes);
    await nats?.stop();
  });

  test('survives the client closing stdin: the stdio node hands it to the mesh', async () => {
    const built = spawnSync(process.execPath, ['scripts/setup.mjs', '--quiet', '--no-nats'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    assert.equal(built.status, 0, 'npm run build failed');
    nats = await startTestNats();
    nodes.push(await startTestNode(nats.url, { name: 'stdio-worker' }));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['bin/wfmesh.js', 'mcp', '--stdio', '--nats', nats.url, '--name', 'stdio-entry', '--region', 'stdio-region'],
      cwd: repoRoot,
      env: { ...(process.env as Record<string, string>), WFMESH_LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'durable-stdio-test', version: '1.0.0' });
    await client.connect(transport);
    await waitFor('the worker sees the stdio node', () => (nodes[0]!.registry.list().some((p) => p.name === 'stdio-entry') ? true : undefined), 30_000);
    // The stdio node coordinates and runs the first step itself (its region is preferred, not
    // required), which outlasts the 4 s the client gives the node to stop before it kills it: the
    // execution must be handed on before the node waits for its steps.
    const yaml = `workflows:
  main:
    - {id: one, tool: sleep, args: {ms: 6000}, requires: {prefer: {region: stdio-region}}}
    - {id: two, tool: echo, args: {text: "\${user_input}"}}
`;
    const started = structured<{ execution_id: string; status: string }>(await call(client, 'execute_workflow', { yaml, input: 'carry on', mode: 'async' }));
    assert.equal(started.status, 'running');
    await client.close(); // stdin closes: the stdio node stops and hands its execution on
    const nc = await connect({ servers: nats.url });
    const store = new ExecutionStore(nc, { log: silentLogger() });
    const done = await waitFor('the execution to end', async () => {
      const r = (await store.get(started.execution_id))?.record;
      return r && r.status !== 'running' ? r : undefined;
    }, 60_000);
    await nc.close();
    assert.equal(done.status, 'completed', `${done.status}: ${done.error?.message ?? ''}\n${stderr.slice(-3_000)}`);
    assert.deepEqual(done.output, { text: 'carry on' });
    assert.equal(done.coordinator, 'stdio-worker');
    assert.equal(done.handovers?.[0]?.from, 'stdio-entry');
    assert.match(done.handovers?.[0]?.reason ?? '', /stopping/);
    // The path under test: the long step was running on the node that stopped.
    assert.equal(done.steps.find((s) => s.id === 'one')?.history?.[0]?.node, 'stdio-entry');
  });
});

describe('an execution of 10,000 steps', () => {
  let nats: TestNats | undefined;
  const nodes: MeshNode[] = [];
  after(async () => {
    await stopAll(nodes);
    await nats?.stop();
  });

  test('completes, and its stored record is whole (every row, every output) and completed', async () => {
    nats = await startTestNats();
    const node = await startTestNode(nats.url, { name: 'big' });
    nodes.push(node);
    const yaml = `workflows:
  main:
    - id: many
      loop:
        max: 10000
        body:
          - {id: tick, tool: echo, args: {i: "\${loop.index}", pad: "${'p'.repeat(4_000)}"}}
`;
    const final = await node.executions!.start({ yaml, input: 'go', mode: 'distributed', wait: true });
    assert.equal(final.status, 'completed', final.error?.message);
    assert.equal(final.steps.length, 10_001);
    const nc = await connect({ servers: nats.url });
    const stored = (await new ExecutionStore(nc, { log: silentLogger() }).get(final.execution_id))!.record;
    await nc.close();
    assert.equal(stored.status, 'completed');
    assert.equal(stored.steps.length, 10_001, 'every row is stored');
    assert.equal(stored.steps.filter((s) => s.status === 'completed').length, 10_001);
    assert.deepEqual(stored.steps[10_000]?.output, { i: 9_999, pad: 'p'.repeat(4_000) });
    assert.equal((stored.output as unknown[]).length, 10_000, 'the 40 MB output is stored whole');
    // The coordinator kept heart-beating through it: it never left its own registry.
    assert.ok(node.registry.list().some((p) => p.name === 'big'));
  });
});

describe('a 100,000-iteration echo loop', () => {
  let nats: TestNats | undefined;
  const nodes: MeshNode[] = [];
  after(async () => {
    await stopAll(nodes);
    await nats?.stop();
  });

  test('completes in process without its coordinator ever being dropped by a peer (the engine yields to heartbeats)', async () => {
    nats = await startTestNats();
    const coordinator = await startTestNode(nats.url, { name: 'busy' });
    const watcher = await startTestNode(nats.url, { name: 'watcher' });
    nodes.push(coordinator, watcher);
    await waitFor('the watcher sees the coordinator', () => (watcher.registry.list().some((p) => p.name === 'busy') ? true : undefined));
    const drops: string[] = [];
    const off = watcher.registry.onChange((e) => e.kind === 'left' && drops.push(`${e.name} (${e.reason})`));
    const yaml = `workflows:
  main:
    - id: many
      loop:
        max: 100000
        body:
          - {id: tick, tool: echo, args: {i: "\${loop.index}"}}
`;
    const final = await coordinator.executions!.start({ yaml, input: 'go', mode: 'sync', wait: true });
    off();
    assert.equal(final.status, 'completed', final.error?.message);
    assert.equal((final.output as unknown[]).length, 100_000);
    assert.deepEqual(drops, [], 'no peer dropped the coordinator while it ran');
  });
});
