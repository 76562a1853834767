import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { ConnectionWatch, connectionWatcher, nodeConnectionName, readConnections, unconnectedMembers } from '../../../src/mesh/connection-watch.js';
import { isSweeper } from '../../../src/executions/recovery.js';
import { membershipTimings } from '../../../src/mesh/prober.js';
import { PeerRegistry } from '../../../src/mesh/registry.js';
import type { Advertisement } from '../../../src/protocol/advert.js';
import { testCapabilities } from '../../harness/capabilities.js';
import { natsForTests, startTestCluster } from '../../harness/nats.js';

const shared = natsForTests();

/** The registry's sorted list of `members` (`[id, name, can watch]`). */
function view(members: [string, string, boolean][]): readonly Advertisement[] {
  const registry = new PeerRegistry();
  for (const [id, name, watches] of members) registry.alive(testCapabilities(id, { name, ...(watches && { watches_connections: true }) }), 0, 'RUNNING', 0);
  return registry.list();
}

test('the watcher is the first member by name (then id) of those that can read the connection lists', () => {
  assert.equal(connectionWatcher(view([['1', 'c', true], ['2', 'a', false], ['3', 'b', true], ['4', 'b', true]]))?.id, '3');
  assert.equal(connectionWatcher(view([['1', 'a', false], ['2', 'b', false]])), undefined, 'nobody can: no watcher');
  assert.equal(view([['1', 'a', true]])[0]!.watches_connections, true, 'the registry keeps what a node says');
  assert.equal(view([['1', 'a', false]])[0]!.watches_connections, undefined);
});

test('the watcher also sweeps for orphaned executions while it runs; without one, the running node with the smallest id', () => {
  const members = view([['9', 'a', true], ['1', 'b', false], ['5', 'c', true]]);
  assert.deepEqual(['9', '1', '5'].filter((id) => isSweeper(id, members)), ['9']);
  const draining = members.map((m) => (m.id === '9' ? { ...m, state: 'DRAINING' as const } : m));
  assert.deepEqual(['9', '1', '5'].filter((id) => isSweeper(id, draining)), ['1']);
  assert.deepEqual(['9', '1'].filter((id) => isSweeper(id, view([['9', 'a', false], ['1', 'b', false]]))), ['1']);
});

test('members without a connection under their name are found; a name with fewer connections than members gives all of them', () => {
  const members = view([['1', 'a', true], ['2', 'b', true], ['3', 'c', true], ['4', 'c', true], ['5', 'd', true]]);
  const census = { nodes: new Map([['a', 1], ['b', 1], ['c', 1]]), servers: new Set(['s1']) };
  assert.deepEqual(unconnectedMembers(census, members, '1').map((m) => m.id).sort(), ['3', '4', '5']);
  // The watcher never looks for itself; two connections under a name cover two members.
  assert.deepEqual(unconnectedMembers({ ...census, nodes: new Map([['b', 1], ['c', 2], ['d', 1]]) }, members, '1'), []);
});

test('idle timings: the watched period defaults to ten idle periods and is never shorter than one', () => {
  assert.equal(membershipTimings(1_000, 2_500, 2_000).watchedProbeIntervalMs, 20_000);
  assert.equal(membershipTimings(1_000, 2_500, 2_000, 30_000).watchedProbeIntervalMs, 30_000);
  assert.equal(membershipTimings(1_000, 2_500, 2_000, 100).watchedProbeIntervalMs, 2_000);
});

test('a real nats-server lists the connections of the account page by page; only node connection names count', async () => {
  const extra: NatsConnection[] = [];
  try {
    for (const name of ['p0', 'p1', 'p2', 'p2', 'p3']) extra.push(await connect({ servers: shared.nats.url, name: nodeConnectionName(name) }));
    extra.push(await connect({ servers: shared.nats.url, name: 'someone-else' }));
    const census = await readConnections(shared.nc, { maxWaitMs: 2_000, jitterMs: 100, pageSize: 2 });
    assert.deepEqual(Object.fromEntries(census.nodes), { p0: 1, p1: 1, p2: 2, p3: 1 });
    assert.equal(census.servers.size, 1);
  } finally {
    await Promise.all(extra.map((nc) => nc.close()));
  }
});

test('a read that misses a server the last read heard from is not trusted; the one after is', async () => {
  const nats = await startTestCluster({ size: 2, jetstream: false });
  const nc = await connect({ servers: nats.urls[0]!, name: nodeConnectionName('w') });
  try {
    const watch = new ConnectionWatch(nc, { maxWaitMs: 2_000, jitterMs: 200 });
    assert.deepEqual((await watch.read())?.servers.size, 2);
    await nats.servers[1]!.stop();
    assert.equal(await watch.read(), undefined, "the lost server's nodes are unknown for a read");
    assert.equal((await watch.read())?.servers.size, 1);
  } finally {
    await nc.close();
    await nats.stop();
  }
});
