import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EligibilityCache, eligiblePeers, placementOrder, rankPeers, regionMatches } from '../../../src/mesh/placement.js';
import type { Advertisement } from '../../../src/protocol/advert.js';

const H100 = { vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81559 };
function peer(name: string, over: Partial<Advertisement> = {}): Advertisement {
  return {
    id: `id-${name}`,
    name,
    version: '0.1.0',
    region: 'us-east',
    labels: {},
    cpu: { cores: 4, model: 'cpu' },
    memory: { total_mib: 8192, free_mib: 4096 },
    gpus: [],
    tools: ['echo', 'sleep', 'transform'],
    models: [],
    mcp_url: null,
    http_url: null,
    started_at: '',
    state: 'RUNNING',
    load: { inflight: 0, max_concurrency: 8, cpu_pct: 0 },
    last_seen: '',
    ...over,
  };
}
const gpu = peer('gpu', { gpus: [H100], region: 'us-east', models: ['llama3'] });
const eu = peer('eu', { region: 'eu-west', labels: { tier: 'fast' } });
const plain = peer('plain', { cpu: { cores: 16, model: 'big' }, memory: { total_mib: 65536, free_mib: 60000 } });
const mesh = [gpu, eu, plain];
const names = (ps: Advertisement[]) => ps.map((p) => p.name).sort();

test('every hard constraint filters', () => {
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { gpu: true } }).eligible), ['gpu']);
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { gpu: { vendor: 'nvidia', min_vram_mib: 80000, model: 'H100' } } }).eligible), ['gpu']);
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { region: 'eu-west' } }).eligible), ['eu']);
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { region: ['eu-west', 'us-east'] } }).eligible), ['eu', 'gpu', 'plain']);
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { region: 'eu-*' } }).eligible), ['eu']);
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { min_memory_mib: 10_000 } }).eligible), ['plain']);
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { min_cpus: 8 } }).eligible), ['plain']);
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { labels: { tier: 'fast' } } }).eligible), ['eu']);
  assert.deepEqual(names(eligiblePeers(mesh, { requires: { node: 'plain' } }).eligible), ['plain']);
  assert.deepEqual(names(eligiblePeers(mesh, { model: 'llama3' }).eligible), ['gpu']);
  assert.deepEqual(names(eligiblePeers(mesh, { tool_type: 'echo' }).eligible), ['eu', 'gpu', 'plain']);
});

test('draining or stopping nodes are never eligible', () => {
  const draining = peer('d', { state: 'DRAINING' });
  assert.deepEqual(eligiblePeers([draining], {}).eligible, []);
});

test('infeasible needs name the constraint nobody meets', () => {
  const r = eligiblePeers(mesh, { requires: { gpu: { count: 2 } } });
  assert.match(r.unmet ?? '', /no live node meets requires\.gpu \(count >= 2\)/);
  assert.match(eligiblePeers(mesh, { requires: { region: 'ap-south' } }).unmet ?? '', /requires\.region = ap-south/);
  assert.match(eligiblePeers(mesh, { tool_type: 'shell' }).unmet ?? '', /offers tool "shell"/);
  assert.match(eligiblePeers(mesh, { model: 'gpt-4o' }).unmet ?? '', /serves model "gpt-4o"/);
  // Each constraint is met by some node, but no node meets both.
  assert.match(eligiblePeers(mesh, { requires: { gpu: true, region: 'eu-west' } }).unmet ?? '', /no single live node meets all of/);
  assert.equal(eligiblePeers([], {}).unmet, 'no live node in the mesh');
});

test('ranking prefers the least loaded, counting what this dispatcher has in flight', () => {
  const a = peer('a', { load: { inflight: 6, max_concurrency: 8, cpu_pct: 0 } });
  const b = peer('b', { load: { inflight: 1, max_concurrency: 8, cpu_pct: 0 } });
  assert.equal(rankPeers([a, b], {}, new Map())[0]?.name, 'b');
  assert.equal(rankPeers([a, b], {}, new Map([['id-b', 7]]))[0]?.name, 'a');
});

test('prefer is soft: a preferred region wins among equals but never filters', () => {
  const r = rankPeers([gpu, eu, plain], { requires: { prefer: { region: 'eu-west' } } }, new Map());
  assert.equal(r[0]?.name, 'eu');
  assert.equal(r.length, 3);
});

test('equal peers share a burst instead of herding onto one', () => {
  const peers = [peer('a'), peer('b'), peer('c')];
  const local = new Map<string, number>();
  const counts = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const best = rankPeers(peers, {}, local)[0]!;
    local.set(best.id, (local.get(best.id) ?? 0) + 1);
    counts.set(best.name, (counts.get(best.name) ?? 0) + 1);
  }
  for (const n of counts.values()) assert.ok(n <= 135, `one node got ${n} of 300`);
});

test('region patterns', () => {
  assert.ok(regionMatches('eu-west', 'eu-*'));
  assert.ok(!regionMatches('us-east', 'eu-*'));
  assert.ok(regionMatches('eu-west', 'eu-west'));
  assert.ok(!regionMatches('eu-west-2', 'eu-west'));
});

const big = Array.from({ length: 60 }, (_, i) =>
  peer(`p${String(i).padStart(2, '0')}`, { region: i % 2 ? 'eu-west' : 'us-east', labels: { tier: i % 10 ? 'std' : 'fast' }, load: { inflight: i % 8, max_concurrency: 8, cpu_pct: 0 } }),
);

test('placement over many peers: the better of two random picks first, then every other eligible peer once', () => {
  const need = { tool_type: 'echo' };
  const order = [...placementOrder(big, need, new Map())];
  assert.equal(order.length, big.length);
  assert.equal(new Set(order.map((p) => p.id)).size, big.length, 'each peer once');
  for (let round = 0; round < 50; round++) {
    const [first, second] = placementOrder(big, need, new Map());
    assert.ok(first!.load.inflight <= second!.load.inflight, 'the first pick is the less loaded of the two');
  }
  // Hard constraints were applied before: the order only ever holds eligible peers.
  const eu = eligiblePeers(big, { tool_type: 'echo', requires: { region: 'eu-west' } }).eligible;
  assert.ok([...placementOrder(eu, need, new Map())].every((p) => p.region === 'eu-west'));
});

test('a soft preference is sampled from the preferred peers first; this node competes too', () => {
  const need = { tool_type: 'echo', requires: { prefer: { labels: { tier: 'fast' } } } };
  // Equally loaded: the preference decides (it is a bonus, worth less than a busy node's load).
  const even = big.map((p) => ({ ...p, load: { inflight: 2, max_concurrency: 8, cpu_pct: 0 } }));
  const cache = new EligibilityCache('id-p33');
  const c = cache.get(even, 1, need);
  assert.equal(c.preferred?.length, 6);
  assert.equal(c.self?.name, 'p33');
  for (let round = 0; round < 50; round++) {
    const [first] = placementOrder(c.result.eligible, need, new Map(), { preferred: c.preferred });
    assert.equal(first!.labels.tier, 'fast');
    const withSelf = [...placementOrder(c.result.eligible, need, new Map(), { preferred: c.preferred, self: c.self })];
    assert.ok(withSelf.slice(0, 5).some((p) => p.name === 'p33'), 'this node is among the first candidates');
  }
});

test('eligibility is cached per need until the registry version changes', () => {
  const cache = new EligibilityCache();
  const need = { tool_type: 'echo', requires: { gpu: true } };
  const a = cache.get(mesh, 1, need);
  assert.equal(cache.get(mesh, 1, { tool_type: 'echo', requires: { gpu: true } }), a, 'an equal need hits the cache');
  const b = cache.get(mesh, 2, need);
  assert.notEqual(b, a);
  assert.deepEqual(names(b.result.eligible), ['gpu']);
});
