import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerRegistry, type PeerEvent } from '../../../src/mesh/registry.js';
import { pageOf } from '../../../src/mesh/sorted-peers.js';
import { testCapabilities } from '../../harness/capabilities.js';

const caps = testCapabilities;
const live = (inflight: number, incarnation = 0) => ({ incarnation, state: 'RUNNING' as const, load: { inflight, max_concurrency: 8, cpu_pct: 1 }, memory_free_mib: 512 });

test('an announcement joins a peer once; a probe answer brings its load without a membership change', () => {
  const r = new PeerRegistry();
  const events: PeerEvent[] = [];
  r.onChange((e) => events.push(e));
  assert.equal(r.alive(caps('a'), 0, 'RUNNING', 0), true);
  r.alive(caps('a'), 0, 'RUNNING', 5);
  assert.deepEqual(events.map((e) => e.kind), ['joined']);
  const [list, version] = [r.list(), r.version];
  r.heardFrom('a', 10, live(3));
  assert.equal(r.get('a')?.load.inflight, 3);
  assert.equal(r.get('a')?.memory.free_mib, 512);
  assert.equal(r.list(), list, 'the same list: load is no membership change');
  assert.equal(r.version, version);
});

test('a known peer under a higher incarnation is told once as rejoined, whether its announcement or a probe answer brings it', () => {
  const r = new PeerRegistry();
  const events: PeerEvent[] = [];
  r.alive(caps('a'), 0, 'RUNNING', 0);
  r.onChange((e) => events.push(e));
  r.alive(caps('a'), 0, 'RUNNING', 1); // the same incarnation: a heartbeat
  r.heardFrom('a', 2, live(0, 0));
  assert.deepEqual(events, []);
  r.alive(caps('a'), 1, 'RUNNING', 3); // it reconnected and announced itself again
  r.alive(caps('a'), 1, 'RUNNING', 4);
  r.heardFrom('a', 5, live(0, 2)); // a probe answer is the first news of the next one
  r.alive(caps('a'), 2, 'RUNNING', 6);
  r.alive(caps('a'), 1, 'RUNNING', 7); // stale
  const id = caps('a').id;
  assert.deepEqual(events, [
    { kind: 'rejoined', id, name: 'n-a', incarnation: 1 },
    { kind: 'rejoined', id, name: 'n-a', incarnation: 2 },
  ]);
});

test('the list stays sorted by name as peers join and leave, and is replaced (not mutated) on change', () => {
  const r = new PeerRegistry();
  for (const id of ['m', 'c', 'x', 'a', 'q']) r.alive(caps(id), 0, 'RUNNING', 0);
  const before = r.list();
  assert.deepEqual(before.map((p) => p.name), ['n-a', 'n-c', 'n-m', 'n-q', 'n-x']);
  r.remove('m', 'stopped');
  assert.deepEqual(r.list().map((p) => p.name), ['n-a', 'n-c', 'n-q', 'n-x']);
  assert.equal(before.length, 5, 'a list handed out earlier is left as it was');
});

test('a suspect that does not refute is dropped when its period ends; a higher incarnation refutes', () => {
  const r = new PeerRegistry();
  r.alive(caps('self'), 0, 'RUNNING', 0);
  r.alive(caps('a'), 0, 'RUNNING', 0);
  r.alive(caps('b'), 0, 'RUNNING', 0);
  assert.equal(r.suspect('a', 0, 0, 'n-self'), 'new');
  assert.equal(r.suspect('a', 0, 500, 'n-self'), false, 'already suspected by that node at this incarnation');
  assert.equal(r.suspect('b', 0, 0, 'n-x'), 'new');
  r.alive(caps('b'), 1, 'RUNNING', 1_000); // b refutes
  assert.deepEqual(r.expireSuspects(1_999, 'self'), []);
  assert.deepEqual(r.expireSuspects(2_000, 'self').map((d) => [d.id, d.suspectedBy]), [['a', 'n-self']]);
  assert.deepEqual(r.list().map((p) => p.id), ['b', 'self']);
});

test('on a large mesh one suspicion lasts longest; each independent confirmation shortens it, down to the minimum', () => {
  const r = new PeerRegistry();
  for (let i = 0; i < 10; i++) r.alive(caps(`p${i}`), 0, 'RUNNING', 0);
  assert.equal(r.suspect('p1', 0, 0, 'x'), 'new');
  assert.deepEqual(r.expireSuspects(5_999), [], 'one suspecter: the longest period (3 x 2 s)');
  assert.equal(r.suspect('p1', 0, 100, 'y'), 'confirmed');
  assert.deepEqual(r.expireSuspects(3_400), []);
  assert.equal(r.suspect('p1', 0, 200, 'z'), 'confirmed');
  assert.equal(r.suspectedByCount('p1'), 3);
  assert.deepEqual(r.expireSuspects(2_000).map((d) => [d.id, d.suspectedBy]), [['p1', 'x']], 'two confirmations: the minimum');
});

test('a node that stood still pushes its suspicions back by as long', () => {
  const r = new PeerRegistry();
  r.alive(caps('a'), 0, 'RUNNING', 0);
  r.suspect('a', 0, 0, 'me');
  r.extendSuspicions(4_000);
  assert.deepEqual(r.expireSuspects(5_000), []);
  assert.equal(r.expireSuspects(6_000).length, 1);
});

test('a mass expiry is one pass: every left event sees the final list', () => {
  const r = new PeerRegistry();
  for (let i = 0; i < 100; i++) r.alive(caps(`p${i}`), 0, 'RUNNING', 0);
  for (let i = 0; i < 40; i++) r.suspect(`p${i}`, 0, 0, 'me', true);
  const sizes: number[] = [];
  r.onChange((e) => e.kind === 'left' && sizes.push(r.list().length));
  assert.equal(r.expireSuspects(2_000).length, 40);
  assert.ok(sizes.length === 40 && sizes.every((n) => n === 60));
});

test('a dead id cannot come back at its old incarnation (a stale view), but a rejoin with a higher one can', () => {
  const r = new PeerRegistry();
  r.alive(caps('a'), 2, 'RUNNING', 0);
  r.remove('a', 'dead', 2);
  assert.equal(r.alive(caps('a'), 2, 'RUNNING', 10), false);
  assert.equal(r.has('a'), false);
  assert.equal(r.alive(caps('a'), 3, 'RUNNING', 20), true);
});

test('an older announcement or death does not overwrite a newer incarnation; an id keeps its name', () => {
  const r = new PeerRegistry();
  r.alive(caps('a'), 3, 'RUNNING', 0);
  assert.equal(r.alive(caps('a'), 2, 'DRAINING', 1), false);
  r.remove('a', 'dead', 2);
  assert.ok(r.has('a'));
  assert.equal(r.alive({ ...caps('a'), name: 'impostor' }, 9, 'STOPPED', 2), false);
  assert.equal(r.get('a')?.state, 'RUNNING');
  r.alive(caps('a'), 3, 'DRAINING', 3);
  assert.equal(r.get('a')?.state, 'DRAINING', 'a state change at the same incarnation is taken');
});

test('the digest is the same for the same members, whatever the order of joins', () => {
  const x = new PeerRegistry();
  const y = new PeerRegistry();
  for (const id of ['a', 'b', 'c']) x.alive(caps(id), 0, 'RUNNING', 0);
  for (const id of ['c', 'a', 'b', 'd']) y.alive(caps(id), 0, 'RUNNING', 0);
  assert.notDeepEqual(x.digest(), y.digest());
  y.remove('d', 'stopped');
  assert.deepEqual(x.digest(), y.digest());
});

test('pages: filtered by region and labels, each page after the cursor, total on every page', () => {
  const r = new PeerRegistry();
  for (let i = 0; i < 25; i++) r.alive(caps(`p${String(i).padStart(2, '0')}`, { region: i % 2 ? 'eu-west' : 'us-east', labels: { tier: i % 5 ? 'slow' : 'fast' } }), 0, 'RUNNING', 0);
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = pageOf(r.list(), { region: 'eu-*', limit: 5, cursor });
    assert.equal(page.total, 12);
    seen.push(...page.nodes.map((p) => p.name));
    cursor = page.next_cursor;
  } while (cursor);
  assert.equal(seen.length, 12);
  assert.deepEqual(seen, [...seen].sort());
  assert.ok(seen.every((n) => Number(n.slice(3)) % 2 === 1));
  const fast = r.page({ labels: { tier: 'fast' } });
  assert.deepEqual(fast.nodes.map((p) => p.name), ['n-p00', 'n-p05', 'n-p10', 'n-p15', 'n-p20']);
  assert.equal(fast.next_cursor, undefined);
});

test("a node's own entry, refreshed with its load, is seen at that moment (what `wfmesh nodes` shows)", () => {
  const r = new PeerRegistry();
  r.alive(caps('self'), 0, 'RUNNING', 1_000);
  r.setOwnLoad(caps('self').id, 'RUNNING', { inflight: 2, max_concurrency: 16, cpu_pct: 3 }, 900, 91_000);
  const own = r.get(caps('self').id);
  assert.equal(own?.last_seen, new Date(91_000).toISOString());
  assert.equal(own?.load.max_concurrency, 16);
  assert.equal(own?.memory.free_mib, 900);
});

test("a member learnt from another node's view shows the load it told, until the node itself is heard from", () => {
  const r = new PeerRegistry();
  r.alive(caps('a'), 0, 'RUNNING', 0);
  assert.equal(r.get(caps('a').id)?.load.max_concurrency, 1, 'a placeholder before anything is known');
  r.seedLive(caps('a').id, { inflight: 1, max_concurrency: 16, cpu_pct: 4 }, 700);
  assert.equal(r.get(caps('a').id)?.load.max_concurrency, 16);
  assert.equal(r.get(caps('a').id)?.memory.free_mib, 700);
  r.heardFrom(caps('a').id, 10, live(2));
  r.seedLive(caps('a').id, { inflight: 9, max_concurrency: 16, cpu_pct: 90 }, 1);
  assert.equal(r.get(caps('a').id)?.load.inflight, 2, 'second-hand news never replaces what the node said itself');
  assert.equal(r.get(caps('a').id)?.memory.free_mib, 512);
});
