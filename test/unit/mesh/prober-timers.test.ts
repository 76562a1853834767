import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../src/log/index.js';
import { MeshActivity } from '../../../src/mesh/activity.js';
import { membershipTimings, Prober, type MembershipTimings } from '../../../src/mesh/prober.js';
import { PeerRegistry } from '../../../src/mesh/registry.js';
import { suspicionPolicy } from '../../../src/mesh/suspicion.js';
import type { MemberEvent } from '../../../src/protocol/membership.js';
import { subjects } from '../../../src/protocol/subjects.js';
import { testCapabilities } from '../../harness/capabilities.js';
import { natsForTests } from '../../harness/nats.js';

const shared = natsForTests();

const caps = testCapabilities;

const until = async (what: string, ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
};

/** A prober of node `self` with one live peer that answers its probes (counted, their payloads kept). */
async function proberWithLivePeer(timings: MembershipTimings, activity: MeshActivity, resync: (peer?: { id: string; name: string }) => Promise<void> = async () => {}) {
  const registry = new PeerRegistry();
  registry.suspicion = suspicionPolicy(timings.suspicionMs);
  const published: MemberEvent[] = [];
  const prober = new Prober({
    nc: shared.nc,
    registry,
    self: () => ({ id: 'self', name: 'n-self' }),
    incarnation: () => 0,
    live: () => ({ load: { inflight: 0, max_concurrency: 8, cpu_pct: 0 }, memory_free_mib: 512, state: 'RUNNING' }),
    refreshSelf: () => {},
    timings,
    activity,
    publish: (e) => published.push(e),
    resync,
    learn: () => true,
    onStall: () => {},
    log: silentLogger(),
  });
  registry.alive(caps('self'), 0, 'RUNNING', Date.now());
  registry.alive(caps('live'), 0, 'RUNNING', Date.now());
  const probes: number[] = [];
  const payloads: unknown[] = [];
  const sub = shared.nc.subscribe(subjects.probe('n-live', 'live'), {
    callback: (_e, m) => {
      probes.push(Date.now());
      payloads.push(JSON.parse(new TextDecoder().decode(m.data)));
      m.respond(new TextEncoder().encode(JSON.stringify({ type: 'wfmesh.probe.ack.v1', id: 'live', incarnation: 0, state: 'RUNNING', load: { inflight: 0, max_concurrency: 8, cpu_pct: 0 }, memory_free_mib: 512, members: registry.digest() })));
    },
  });
  await shared.nc.flush();
  return { registry, published, prober, probes, payloads, sub };
}

test('the suspicion timer runs only while a suspicion is open: an idle prober wakes once a period', async () => {
  const timings = membershipTimings(100, 600);
  const busy = new MeshActivity(60_000);
  busy.extend();
  // A live peer answers its probes; `gone` (added below) has nobody on its probe subject (a process that died).
  const { registry, published, prober, sub } = await proberWithLivePeer(timings, busy);
  prober.start();
  try {
    await new Promise((r) => setTimeout(r, 5 * timings.probeIntervalMs));
    assert.equal(prober.watchingSuspicions, false, 'nothing suspected: only the period timer runs');
    assert.equal(registry.suspectCount, 0, 'the live peer answered every probe');

    registry.alive(caps('gone'), 0, 'RUNNING', Date.now());
    await until('the dead peer is suspected', () => registry.suspectCount === 1);
    assert.equal(prober.watchingSuspicions, true, 'an open suspicion is checked every half period');
    await until('the suspect that never refutes is dropped', () => !registry.has('gone'));
    assert.ok(published.some((e) => e.kind === 'dead' && e.id === 'gone'), 'its death was announced by the node that suspected it');
    await until('the suspicion timer stops', () => !prober.watchingSuspicions);
    assert.ok(registry.has('live'), 'the live peer stays');
  } finally {
    prober.stop();
    sub.unsubscribe();
  }
  assert.equal(prober.watchingSuspicions, false);
});

test('while nothing runs in the mesh a node probes at the idle period; told of work, at the busy one from its next period', async () => {
  const timings = membershipTimings(100, 600, 1_000); // busy: a probe every 50 ms; idle: every 1 s
  const activity = new MeshActivity(60_000);
  const { prober, probes, sub } = await proberWithLivePeer(timings, activity);
  prober.start();
  try {
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(prober.busyRate, false);
    assert.ok(probes.length <= 2, `idle: at most one probe a second (${probes.length} in 1.5 s)`);
    const toldAt = Date.now();
    assert.equal(activity.extend(toldAt), true, 'the mesh was idle until now');
    prober.quicken();
    assert.equal(prober.busyRate, true);
    // Ten probes within `until`'s 5 s: at the idle period they would take 10 s.
    await until('ten probes at the busy period', () => probes.filter((t) => t >= toldAt).length >= 10);
  } finally {
    prober.stop();
    sub.unsubscribe();
  }
});

test('the idle period is never shorter than the busy one, and the dead timeout does not depend on it', () => {
  const fast = membershipTimings(1_000, 2_500);
  const slow = membershipTimings(1_000, 2_500, 5_000);
  assert.equal(fast.idleProbeIntervalMs, fast.probeIntervalMs, 'by default a node probes at one rate');
  assert.equal(slow.idleProbeIntervalMs, 5_000);
  assert.equal(membershipTimings(1_000, 2_500, 100).idleProbeIntervalMs, 500, 'a shorter idle period is raised to the busy one');
  for (const k of ['probeIntervalMs', 'probeTimeoutMs', 'suspicionMs'] as const) assert.equal(slow[k], fast[k], k);
});

test('a member that joins is probed in the current round, not after it (SWIM inserts it at a random place)', async () => {
  const timings = membershipTimings(100, 600); // a probe every 50 ms
  const busy = new MeshActivity(60_000);
  busy.extend();
  const { registry, prober, sub } = await proberWithLivePeer(timings, busy);
  const byPeer = new Map<string, number>();
  const answer = (id: string) =>
    shared.nc.subscribe(subjects.probe(`n-${id}`, id), {
      callback: (_e, m) => {
        byPeer.set(id, (byPeer.get(id) ?? 0) + 1);
        m.respond(new TextEncoder().encode(JSON.stringify({ type: 'wfmesh.probe.ack.v1', id, incarnation: 0, state: 'RUNNING', load: { inflight: 0, max_concurrency: 8, cpu_pct: 0 }, memory_free_mib: 512, members: registry.digest() })));
      },
    });
  const originals = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
  const subs = originals.map(answer);
  subs.push(answer('late'));
  for (const id of originals) registry.alive(caps(id), 0, 'RUNNING', Date.now());
  await shared.nc.flush();
  prober.start();
  try {
    await until('the first round has begun', () => originals.some((id) => (byPeer.get(id) ?? 0) > 0));
    registry.alive(caps('late'), 0, 'RUNNING', Date.now());
    await until('the new member is probed', () => (byPeer.get('late') ?? 0) > 0);
    // In the current round: before any original is probed a second time.
    assert.ok(originals.every((id) => (byPeer.get(id) ?? 0) <= 1), `probes so far: ${JSON.stringify([...byPeer])}`);
  } finally {
    prober.stop();
    sub.unsubscribe();
    for (const s of subs) s.unsubscribe();
  }
});

test('while the mesh is idle a node probes only its successor in the name-sorted ring (every node has exactly one prober)', async () => {
  const timings = membershipTimings(100, 600, 100); // idle period 100 ms
  const idle = new MeshActivity(60_000);
  const { registry, prober, probes, sub } = await proberWithLivePeer(timings, idle); // self is n-self, the live peer n-live
  const byPeer = new Map<string, number>();
  const subs = ['a', 'z'].map((id) =>
    shared.nc.subscribe(subjects.probe(`n-${id}`, id), {
      callback: (_e, m) => {
        byPeer.set(id, (byPeer.get(id) ?? 0) + 1);
        m.respond(new TextEncoder().encode(JSON.stringify({ type: 'wfmesh.probe.ack.v1', id, incarnation: 0, state: 'RUNNING', load: { inflight: 0, max_concurrency: 8, cpu_pct: 0 }, memory_free_mib: 512, members: registry.digest() })));
      },
    }),
  );
  for (const id of ['a', 'z']) registry.alive(caps(id), 0, 'RUNNING', Date.now());
  await shared.nc.flush();
  prober.start();
  try {
    // n-a < n-live < n-self < n-z: n-self's successor is n-z.
    await until('five probes of the successor', () => (byPeer.get('z') ?? 0) >= 5);
    assert.equal(byPeer.get('a') ?? 0, 0);
    assert.equal(probes.length, 0, 'n-live is not probed by n-self while idle');
    registry.remove('z', 'stopped', 0, Date.now());
    await until('the ring wraps around to n-a', () => (byPeer.get('a') ?? 0) >= 2);
    assert.equal(probes.length, 0);
  } finally {
    prober.stop();
    sub.unsubscribe();
    for (const s of subs) s.unsubscribe();
  }
});

test('a probe carries the prober\'s digest, and a node probed by one that knows more members pulls its view', async () => {
  const timings = membershipTimings(100, 600, 100);
  const pulls: string[] = [];
  const { registry, prober, payloads, sub } = await proberWithLivePeer(timings, new MeshActivity(60_000), async (peer) => {
    pulls.push(peer ? `${peer.name}/${peer.id}` : '(any)');
  });
  // This node answers probes here (membership serves its own probe subject the same way).
  const answering = shared.nc.subscribe('test.answer.self', { callback: (_e, m) => prober.answer(m) });
  const probeFrom = (members: { count: number; hash: number }) =>
    shared.nc.request('test.answer.self', new TextEncoder().encode(JSON.stringify({ type: 'wfmesh.probe.v1', from: 'n-live', id: 'live', members })), { timeout: 2_000 });
  prober.start();
  try {
    await until('a probe of the successor', () => payloads.length > 0);
    assert.deepEqual((payloads[0] as { members?: unknown }).members, registry.digest(), 'the probe names what its sender knows');

    const mine = registry.digest();
    await probeFrom(mine);
    await probeFrom({ count: mine.count - 1, hash: 1 });
    assert.deepEqual(pulls, [], 'a prober that knows the same members, or fewer, is not asked for its view');
    await probeFrom({ count: mine.count + 2, hash: 7 });
    assert.deepEqual(pulls, ['n-live/live'], 'a prober that knows more is asked for its view');
    await probeFrom({ count: mine.count + 2, hash: 7 });
    assert.equal(pulls.length, 1, 'at most one pull per four busy periods');
  } finally {
    prober.stop();
    sub.unsubscribe();
    answering.unsubscribe();
  }
});
