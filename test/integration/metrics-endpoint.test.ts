/**
 * /metrics on a real node: Prometheus text whose counters move when a workflow runs over MCP,
 * when peers join and leave, and when the NATS server goes away and comes back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log/index.js';
import { startNatsServer, type NatsServerProcess } from '../../src/nats/index.js';
import { compileNodeOptions, startNode, type MeshNode } from '../../src/node/index.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/node/metrics.js';
import { waitFor } from '../harness/processes.js';
import { call, connectHttp, mcpUrl, structured } from './mcp-helpers.js';

type Samples = Map<string, number>;

/** Parses the exposition into `name{labels}` → value, checking every family has HELP and TYPE. */
function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const meta = line.match(/^# (HELP|TYPE) (\S+) (.+)$/);
    if (meta) {
      if (meta[1] === 'TYPE') typed.add(meta[2]!);
      continue;
    }
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/);
    assert.ok(m, `not a sample line: ${line}`);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m[1]!) || typed.has(family), `${m[1]} has no # TYPE`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

async function scrape(node: MeshNode): Promise<Samples> {
  const res = await fetch(`${node.http.url}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
  return parseExposition(await res.text());
}

const value = (s: Samples, key: string): number => {
  const v = s.get(key);
  assert.ok(v !== undefined, `no sample ${key}`);
  return v;
};

/** Three steps, one of which runs at least 60 ms: enough for the histogram's sum and buckets to show it. */
const ECHO_NAP_ECHO = `workflows:
  main:
    - {id: a, tool: echo, args: {n: 1}}
    - {id: nap, tool: sleep, args: {ms: 60}}
    - {id: c, tool: echo, args: {n: "\${a.output.n}"}}
`;

const THREE_ECHOES = `workflows:
  main:
    - {id: a, tool: echo, args: {n: 1}}
    - {id: b, tool: echo, args: {n: "\${a.output.n}"}}
    - {id: c, tool: echo, args: {n: "\${b.output.n}"}}
`;

describe('GET /metrics', { timeout: 120_000 }, () => {
  let dir: string;
  let server: NatsServerProcess;
  let node: MeshNode;
  const nodeOptions = (name: string, mcp: boolean) =>
    compileNodeOptions({ nats: server.url, name, region: 'metrics-test', mcpPort: 0, noMcp: !mcp }, { WFMESH_HEARTBEAT_MS: '200' });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wfmesh-metrics-'));
    server = await startNatsServer({ workDir: dir, jetstreamDir: join(dir, 'js') });
    node = await startNode(nodeOptions('metrics-1', true), silentLogger());
  });

  after(async () => {
    await node?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves every family in the Prometheus text format, with the node named', async () => {
    const s = await scrape(node);
    assert.equal(value(s, `wfmesh_node_info{name="metrics-1",region="metrics-test",version="0.1.0",state="RUNNING"}`), 1);
    for (const status of ['completed', 'failed', 'cancelled']) assert.equal(value(s, `wfmesh_executions_total{status="${status}"}`), 0);
    assert.equal(value(s, 'wfmesh_steps_total{status="completed"}'), 0);
    assert.equal(value(s, 'wfmesh_step_duration_seconds_bucket{le="+Inf"}'), 0);
    assert.equal(value(s, 'wfmesh_steps_inflight'), 0);
    assert.equal(value(s, 'wfmesh_max_concurrency'), node.options.maxConcurrency);
    assert.equal(value(s, 'wfmesh_nats_connected'), 1);
    assert.equal(value(s, 'wfmesh_nats_reconnects_total'), 0);
    assert.equal(value(s, 'wfmesh_mesh_busy'), 0, 'nothing has run in the mesh yet');
    assert.equal(value(s, 'wfmesh_connection_watcher'), 1, 'alone in its mesh, and allowed to read the connection lists, it is the watcher');
    assert.ok(value(s, 'process_resident_memory_bytes') > 0);
  });

  test('a workflow run over MCP moves the step counters and the latency histogram', async () => {
    const before = await scrape(node);
    const client = await connectHttp(mcpUrl(node));
    try {
      const result = await call(client, 'execute_workflow', { yaml: ECHO_NAP_ECHO, input: 'go', mode: 'distributed' });
      assert.equal(result.isError ?? false, false, JSON.stringify(result.content));
      assert.equal(structured<{ status: string }>(result).status, 'completed');
    } finally {
      await client.close();
    }
    const after = await scrape(node);
    const delta = (key: string) => value(after, key) - value(before, key);
    assert.equal(delta('wfmesh_steps_total{status="completed"}'), 3);
    assert.equal(delta('wfmesh_step_duration_seconds_count'), 3);
    assert.equal(delta('wfmesh_step_duration_seconds_bucket{le="+Inf"}'), 3);
    // The 60 ms nap alone puts the sum past 0.05 s, and it lands in no bucket below 0.05 s.
    assert.ok(delta('wfmesh_step_duration_seconds_sum') >= 0.05, `sum grew by ${delta('wfmesh_step_duration_seconds_sum')} s`);
    assert.ok(delta('wfmesh_step_duration_seconds_bucket{le="0.05"}') <= 2, 'the nap is not counted under 0.05 s');
    // Buckets are cumulative: never decreasing with `le`.
    const buckets = [...after].filter(([k]) => k.startsWith('wfmesh_step_duration_seconds_bucket')).map(([, v]) => v);
    assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
  });

  test('sync mode counts its in-process steps and the execution', async () => {
    const before = await scrape(node);
    const client = await connectHttp(mcpUrl(node));
    try {
      await call(client, 'execute_workflow', { yaml: THREE_ECHOES, input: 'go', mode: 'sync' });
    } finally {
      await client.close();
    }
    const after = await scrape(node);
    assert.equal(value(after, 'wfmesh_executions_started_total') - value(before, 'wfmesh_executions_started_total'), 1);
    assert.equal(value(after, 'wfmesh_steps_total{status="completed"}') - value(before, 'wfmesh_steps_total{status="completed"}'), 3);
    assert.equal(value(after, 'wfmesh_executions_total{status="completed"}') - value(before, 'wfmesh_executions_total{status="completed"}'), 1);
  });

  test('peers joining and leaving show in wfmesh_peers and the churn counters', async () => {
    await waitFor('wfmesh_peers 1', async () => (value(await scrape(node), 'wfmesh_peers') === 1 ? true : undefined));
    const joinedBefore = value(await scrape(node), 'wfmesh_peers_joined_total');
    const other = await startNode(nodeOptions('metrics-2', false), silentLogger());
    try {
      await waitFor('wfmesh_peers 2', async () => (value(await scrape(node), 'wfmesh_peers') === 2 ? true : undefined));
      assert.equal(value(await scrape(node), 'wfmesh_peers_joined_total') - joinedBefore, 1);
    } finally {
      await other.stop();
    }
    const left = await waitFor('a clean leave counted', async () => {
      const s = await scrape(node);
      return value(s, 'wfmesh_peers') === 1 ? s : undefined;
    });
    assert.equal(value(left, 'wfmesh_peers_left_total{reason="stopped"}'), 1);
  });

  test('losing the NATS server and getting it back counts a disconnect and a reconnect', async () => {
    const port = server.port;
    await server.stop();
    await waitFor('wfmesh_nats_connected 0', async () => (value(await scrape(node), 'wfmesh_nats_connected') === 0 ? true : undefined));
    server = await startNatsServer({ workDir: dir, port, jetstreamDir: join(dir, 'js') });
    const s = await waitFor('wfmesh_nats_reconnects_total 1', async () => {
      const now = await scrape(node);
      return value(now, 'wfmesh_nats_reconnects_total') >= 1 ? now : undefined;
    });
    assert.equal(value(s, 'wfmesh_nats_connected'), 1);
    assert.ok(value(s, 'wfmesh_nats_disconnects_total') >= 1);
  });
});
