/**
 * A coordinator's death seen through MCP: an async execution started through node A (a real
 * process, killed with SIGKILL) is taken over by node B and completes, and B's get_execution
 * shows the handover; with no node alive when its coordinator dies, the next node to start takes
 * it over; and the records outlive every node that wrote them (they live in JetStream).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode } from '../harness/nodes.js';
import { spawnCli, type CliProcess } from '../harness/processes.js';
import { call, connectHttp, mcpUrl, sleepWorkflow, structured, until, type ExecutionView } from './mcp-helpers.js';

// Fast heartbeats: a dead node is dropped after 2.5 of them.
const ENV = { WFMESH_HEARTBEAT_MS: '300' };

let nats: TestNats;
const procs: CliProcess[] = [];
const nodes: MeshNode[] = [];
const clients: Client[] = [];

before(async () => {
  nats = await startTestNats();
});
after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  for (const p of procs) p.kill('SIGKILL');
  await Promise.allSettled(nodes.map((n) => n.stop()));
  await nats?.stop();
});

/** `wfmesh node` in its own process; resolves once it says it joined, with its MCP URL. */
async function spawnNode(name: string): Promise<{ proc: CliProcess; url: string }> {
  const proc = spawnCli(['node', '--nats', nats.url, '--name', name, '--mcp-port', '0'], { env: { ...ENV, WFMESH_LOG_LEVEL: 'info' } });
  procs.push(proc);
  await proc.waitFor('MCP over Streamable HTTP', 30_000);
  const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/mcp)"/.exec(proc.stderr())?.[1];
  assert.ok(url, `MCP URL in the log:\n${proc.stderr()}`);
  return { proc, url };
}

async function startAsync(client: Client): Promise<string> {
  const r = structured<ExecutionView>(await call(client, 'execute_workflow', { yaml: sleepWorkflow(3_000), input: 'x', mode: 'async' }));
  assert.equal(r.status, 'running');
  await until('its long step runs', async () => {
    const seen = structured<ExecutionView>(await call(client, 'get_execution', { execution_id: r.execution_id }));
    return seen.steps.some((s) => s.id === 'nap' && s.status === 'running');
  });
  return r.execution_id;
}

test('a killed coordinator: another node takes its execution over and completes it', async () => {
  const b = await startTestNode(nats.url, { name: 'loss-b' }, ENV);
  nodes.push(b);
  const a = await spawnNode('loss-a');
  const ca = await connectHttp(a.url);
  clients.push(ca);
  const cb = await connectHttp(mcpUrl(b));
  clients.push(cb);
  await until('b sees a', async () => b.registry.list().some((p) => p.name === 'loss-a'));

  const id = await startAsync(ca);
  a.proc.kill('SIGKILL');
  await a.proc.exited;

  const r = await until('the execution ends', async () => {
    const seen = structured<ExecutionView & { handovers?: { from: string; node: string }[] }>(await call(cb, 'get_execution', { execution_id: id }));
    return seen.status !== 'running' && seen;
  }, 30_000);
  assert.equal(r.status, 'completed', JSON.stringify(r.error));
  assert.equal(r.coordinator, 'loss-b');
  assert.deepEqual(r.handovers?.map((h) => `${h.from}->${h.node}`), ['loss-a->loss-b']);
  assert.equal(r.steps.find((s) => s.id === 'first')?.attempts, 1, 'the step done before the loss is not run again');
  assert.equal(r.steps.find((s) => s.id === 'last')?.status, 'completed');
  await b.stop();
});

test('no node alive when the coordinator dies: the next node to start takes it over; records outlive every node', async () => {
  const a = await spawnNode('loss-a'); // the same name again
  const ca = await connectHttp(a.url);
  clients.push(ca);
  const earlier = structured<{ executions: ExecutionView[] }>(await call(ca, 'list_executions', {})).executions;
  assert.ok(earlier.length >= 1 && earlier.every((e) => e.status !== 'running'), 'the first test left a finished record');

  const id = await startAsync(ca);
  a.proc.kill('SIGKILL');
  await a.proc.exited;

  const c = await startTestNode(nats.url, { name: 'loss-c' }, ENV);
  nodes.push(c);
  const cc = await connectHttp(mcpUrl(c));
  clients.push(cc);
  const r = await until('the new node resumes the orphan', async () => {
    const seen = structured<ExecutionView>(await call(cc, 'get_execution', { execution_id: id }));
    return seen.status !== 'running' && seen;
  }, 30_000);
  assert.equal(r.status, 'completed', JSON.stringify(r.error));
  assert.equal(r.coordinator, 'loss-c');
  const all = structured<{ executions: ExecutionView[] }>(await call(cc, 'list_executions', {})).executions;
  assert.ok(all.length >= 2, 'both records survived the nodes that wrote them');
  assert.ok(all.every((e) => e.status !== 'running'));
});
