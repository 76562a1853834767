import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, Empty, RequestStrategy, type NatsConnection } from 'nats';
import type { MeshNode } from '../../src/node/index.js';
import type { PeerEvent } from '../../src/mesh/registry.js';
import { decodeJson } from '../../src/protocol/codec.js';
import { subjects } from '../../src/protocol/subjects.js';
import { startTestCluster, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { eventually, spawnCli, type CliProcess } from '../harness/processes.js';

/** Resolves with the time a peer named `name` left `node`'s view, and why. */
function whenLeft(node: MeshNode, name: string): Promise<{ at: number; reason: string }> {
  return new Promise((resolve) => {
    const off = node.registry.onChange((e: PeerEvent) => {
      if (e.kind === 'left' && e.name === name) {
        off();
        resolve({ at: Date.now(), reason: e.reason });
      }
    });
  });
}

const names = (node: MeshNode) => node.registry.list().map((p) => p.name).sort();

/**
 * A client of its own on `url` that records what `node` announces and can publish membership
 * messages as another sender (anyone may send a suspicion on its own subject).
 */
async function listenTo(url: string, node: MeshNode) {
  const nc = await connect({ servers: url });
  const said: Record<string, unknown>[] = [];
  const sub = nc.subscribe(subjects.members(node.name, node.id), { callback: (_e, m) => said.push(decodeJson(m.data) as Record<string, unknown>) });
  await nc.flush();
  return {
    said,
    suspect: (from: string, incarnation: number) =>
      nc.publish(subjects.members(from, from), new TextEncoder().encode(JSON.stringify({ type: 'wfmesh.member.v1', kind: 'suspect', id: node.id, name: node.name, incarnation, from }))),
    close: async () => {
      sub.unsubscribe();
      await nc.close();
    },
  };
}

describe('membership on a real 3-server NATS cluster', () => {
  let nats: TestNats;
  let a: MeshNode;
  let b: MeshNode;
  const procs: CliProcess[] = [];

  const spawnNode = async (name: string, serverIndex: number) => {
    const p = spawnCli(['node', '--nats', nats.urls[serverIndex]!, '--name', name, '--region', 'eu-west', '--no-mcp']);
    procs.push(p);
    await p.waitFor('node joined the mesh', 60_000); // start-up from source is slow on a busy machine
    await eventually(() => a.registry.list().some((n) => n.name === name) && b.registry.list().some((n) => n.name === name), `${name} seen by a and b`);
    return p;
  };

  before(async () => {
    nats = await startTestCluster();
    a = await startTestNode(nats.urls[0]!, { name: 'obs-a', region: 'eu-west', labels: ['tier=fast'] });
    b = await startTestNode(nats.urls[1]!, { name: 'obs-b', region: 'us-east' });
  });

  after(async () => {
    for (const p of procs) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    }
    await stopAll([a, b]);
    await nats.stop();
  });

  test('nodes attached to different servers all see each other, and `wfmesh nodes --json` lists them', async () => {
    await spawnNode('proc-c', 2);
    await eventually(() => names(a).join() === 'obs-a,obs-b,proc-c' && names(b).join() === 'obs-a,obs-b,proc-c', 'a and b see all three');
    const cli = spawnCli(['nodes', '--json', '--nats', nats.urls[2]!]);
    assert.equal((await cli.exited).code, 0, cli.stderr());
    const listed = JSON.parse(cli.stdout()) as { name: string; region: string; cpu: { cores: number }; memory: { total_mib: number }; gpus: unknown[]; labels: Record<string, string>; load: { max_concurrency: number } }[];
    assert.deepEqual(listed.map((n) => n.name).sort(), ['obs-a', 'obs-b', 'proc-c']);
    const obsA = listed.find((n) => n.name === 'obs-a')!;
    assert.equal(obsA.region, 'eu-west');
    assert.deepEqual(obsA.labels, { tier: 'fast' });
    assert.ok(obsA.cpu.cores > 0 && obsA.memory.total_mib > 0);
    // Whatever the machine has (none here, some on a GPU machine): what this node's probe found.
    assert.deepEqual(obsA.gpus, JSON.parse(JSON.stringify(a.hardware.gpus)), 'the GPUs the probe reports');
    for (const g of obsA.gpus as { vendor: string; model: string; vram_mib: number }[]) assert.ok(g.vendor && g.model && g.vram_mib > 0, JSON.stringify(g));
  });

  test('a node that says it joined knows the mesh already (its own view service may answer its first pull)', async () => {
    // The view pull goes to a queue group this node is in: with two peers a third of the pulls
    // came back from the node itself, which then knew only itself for a second or two.
    for (let i = 0; i < 8; i++) {
      const fresh = await startTestNode(nats.urls[i % 3]!, { name: `fresh-${i}` });
      try {
        assert.ok(['obs-a', 'obs-b'].every((n) => fresh.registry.list().some((p) => p.name === n)), `fresh-${i} knows: ${names(fresh).join(', ')}`);
      } finally {
        await fresh.stop();
      }
    }
  });

  test('$SRV.PING.wfmesh is answered by every node', async () => {
    const nc: NatsConnection = await connect({ servers: nats.urls[1]! });
    try {
      const replies = await nc.requestMany(subjects.servicePing(), undefined, { strategy: RequestStrategy.JitterTimer, maxWait: 2_000, jitter: 400 });
      const ids = new Set<string>();
      for await (const m of replies) ids.add((decodeJson(m.data) as { id: string }).id);
      const live = new Set(a.registry.list().map((p) => p.id));
      assert.deepEqual([...ids].sort(), [...live].sort());
    } finally {
      await nc.close();
    }
  });

  // How fast (the 3.5 s bound) is measured by `npm run bench` (dead_detect_ms); here, that it happens.
  test('kill -9 of a node removes it from every view as dead', async (t) => {
    const victim = await spawnNode('victim-kill', 2);
    const leftA = whenLeft(a, 'victim-kill');
    const leftB = whenLeft(b, 'victim-kill');
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    const [ra, rb] = await Promise.all([leftA, leftB]);
    assert.equal(ra.reason, 'dead');
    assert.equal(rb.reason, 'dead');
    t.diagnostic(`dropped after ${ra.at - killedAt} / ${rb.at - killedAt} ms`);
  });

  test('a frozen node (SIGSTOP) is removed as dead', async (t) => {
    const victim = await spawnNode('victim-stop', 0);
    const left = whenLeft(b, 'victim-stop');
    const stoppedAt = Date.now();
    victim.kill('SIGSTOP');
    const r = await left;
    victim.kill('SIGCONT');
    victim.kill('SIGKILL');
    assert.equal(r.reason, 'dead');
    t.diagnostic(`dropped after ${r.at - stoppedAt} ms`);
  });

  test('SIGTERM: the node says goodbye, is dropped at once, and exits 0', async () => {
    const victim = await spawnNode('victim-term', 1);
    const left = whenLeft(a, 'victim-term');
    victim.kill('SIGTERM');
    const r = await left;
    assert.equal(r.reason, 'stopped', 'dropped on its goodbye, not after missing heartbeats');
    assert.equal((await victim.exited).code, 0);
  });

  test('malformed and foreign messages on our subjects are ignored; a false suspicion is refuted', async () => {
    const nc = await connect({ servers: nats.urls[0]! });
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    try {
      const ghost = subjects.members('intruder', 'intruder');
      nc.publish(ghost, new TextEncoder().encode('{not json'));
      nc.publish(ghost, enc({ type: 'wfmesh.member.v1', kind: 'alive', id: 'x' }));
      nc.publish(ghost, enc({ hello: 'world' }));
      // A goodbye for obs-b sent on another node's subject is not believed.
      nc.publish(ghost, enc({ type: 'wfmesh.member.v1', kind: 'left', id: b.id, name: b.name, incarnation: 99 }));
      // An announcement of a node with another id than its subject names does not make it a peer.
      const caps = { ...a.membership.self, id: 'ghost', name: 'ghost' };
      nc.publish(ghost, enc({ type: 'wfmesh.member.v1', kind: 'alive', id: 'ghost', name: 'ghost', incarnation: 0, state: 'RUNNING', caps }));
      // Anyone may suspect a node: the live node refutes it and stays in every view.
      nc.publish(ghost, enc({ type: 'wfmesh.member.v1', kind: 'suspect', id: b.id, name: b.name, incarnation: b.registry.incarnationOf(b.id) ?? 0, from: 'intruder' }));
      await nc.flush();
      // A round trip to each observer after the messages went out: each has read them by then.
      for (const n of [a, b]) await nc.request(subjects.view(n.name, n.id), Empty, { timeout: 5_000 });
      await eventually(() => (a.registry.incarnationOf(b.id) ?? 0) > 0 && !a.registry.isSuspected(b.id), 'b refuted the suspicion with a higher incarnation');
      await new Promise((resolve) => setTimeout(resolve, a.membership.timings.suspicionMs + 500));
      assert.ok(!names(a).includes('ghost') && !names(b).includes('ghost'), 'the ghost is nobody\'s peer');
      assert.ok(names(a).includes('obs-b'), 'obs-b is still a peer of obs-a');
      assert.equal(a.state, 'RUNNING');
      assert.equal(b.state, 'RUNNING');
    } finally {
      await nc.close();
    }
  });

  test('a refutation carries no capabilities; a node that had dropped the refuter asks it for them', async () => {
    const bus = await listenTo(nats.urls[2]!, b);
    try {
      const incarnation = b.registry.incarnationOf(b.id) ?? 0;
      a.registry.remove(b.id, 'dead', incarnation, Date.now());
      assert.ok(!names(a).includes('obs-b'), 'obs-a dropped obs-b');
      bus.suspect('intruder', incarnation);
      const refuted = (e: Record<string, unknown>) => e.kind === 'alive' && (e.incarnation as number) > incarnation;
      await eventually(() => bus.said.some(refuted), 'obs-b refuted');
      assert.equal(bus.said.find(refuted)!.caps, undefined, 'the refutation leaves the capabilities out');
      await eventually(() => names(a).includes('obs-b'), 'obs-a took obs-b back with its capabilities');
      assert.equal(a.registry.get(b.id)?.region, 'us-east');
    } finally {
      await bus.close();
    }
  });

  test('a suspicion of an older incarnation is answered with the current one (no node is left holding it)', async () => {
    const bus = await listenTo(nats.urls[1]!, b);
    try {
      // Push b to a higher incarnation, then suspect the one before, as a node that missed the refutation would.
      const before = b.registry.incarnationOf(b.id) ?? 0;
      bus.suspect('intruder', before);
      await eventually(() => (b.registry.incarnationOf(b.id) ?? 0) > before, 'obs-b refuted');
      const current = b.registry.incarnationOf(b.id)!;
      await new Promise((resolve) => setTimeout(resolve, b.membership.timings.probeIntervalMs + 50));
      bus.said.length = 0;
      bus.suspect('stale', current - 1);
      await eventually(() => bus.said.some((e) => e.kind === 'alive'), 'obs-b said it is alive again');
      assert.equal(bus.said.find((e) => e.kind === 'alive')!.incarnation, current, 'at its current incarnation, not a new one');
      assert.equal(b.registry.incarnationOf(b.id), current);
    } finally {
      await bus.close();
    }
  });
});
