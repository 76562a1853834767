import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerRegistry, type PeerEvent } from '../../../src/mesh/registry.js';
import type { Heartbeat, NodeCapabilities } from '../../../src/protocol/advert.js';

const caps = (id: string): NodeCapabilities => ({
  id,
  name: `n-${id}`,
  version: '0.1.0',
  region: 'eu-west',
  labels: {},
  cpu: { cores: 4, model: 'cpu' },
  memory: { total_mib: 1024 },
  gpus: [],
  tools: ['echo'],
  models: [],
  mcp_url: null,
  http_url: null,
  started_at: new Date(0).toISOString(),
});
const hb = (id: string, seq: number, state: Heartbeat['state'] = 'RUNNING', inflight = 0): Heartbeat => ({
  type: 'wfmesh.heartbeat.v1',
  id,
  name: `n-${id}`,
  seq,
  state,
  load: { inflight, max_concurrency: 8, cpu_pct: 1 },
  memory_free_mib: 512,
  sent_at: new Date(0).toISOString(),
});

test('a heartbeat from an unknown node asks for its capabilities; info then joins it with its load', () => {
  const r = new PeerRegistry(2_500);
  const events: PeerEvent[] = [];
  r.onChange((e) => events.push(e));
  assert.equal(r.heartbeat(hb('a', 1, 'RUNNING', 3), 0), false);
  r.upsert(caps('a'), 10);
  assert.equal(events[0]?.kind, 'joined');
  assert.equal(r.get('a')?.load.inflight, 3, 'the pending heartbeat is kept');
  assert.equal(r.get('a')?.memory.free_mib, 512);
});

test('silent peers expire after deadAfterMs; the keep id never does', () => {
  const r = new PeerRegistry(2_500);
  r.upsert(caps('self'), 0);
  r.upsert(caps('a'), 0);
  r.heartbeat(hb('a', 1), 1_000);
  assert.deepEqual(r.expire(3_000, 'self'), []);
  assert.deepEqual(r.expire(3_600, 'self'), ['a']);
  assert.ok(r.has('self'));
});

test('a STOPPED heartbeat drops the peer at once, with reason stopped', () => {
  const r = new PeerRegistry(2_500);
  const events: PeerEvent[] = [];
  r.onChange((e) => events.push(e));
  r.upsert(caps('a'), 0);
  r.heartbeat(hb('a', 5, 'STOPPED'), 1);
  assert.equal(r.size, 0);
  assert.deepEqual(events.at(-1), { kind: 'left', id: 'a', name: 'n-a', reason: 'stopped' });
});

test('an older heartbeat does not overwrite a newer one', () => {
  const r = new PeerRegistry(2_500);
  r.upsert(caps('a'), 0);
  r.heartbeat(hb('a', 5, 'RUNNING', 5), 1);
  r.heartbeat(hb('a', 4, 'RUNNING', 4), 2);
  assert.equal(r.get('a')?.load.inflight, 5);
});
