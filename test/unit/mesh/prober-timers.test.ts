import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../../src/log/index.js';
import { membershipTimings, Prober } from '../../../src/mesh/prober.js';
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

test('the suspicion timer runs only while a suspicion is open: an idle prober wakes once a period', async () => {
  const registry = new PeerRegistry();
  const timings = membershipTimings(100, 600);
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
    publish: (e) => published.push(e),
    resync: async () => {},
    learn: () => true,
    onStall: () => {},
    log: silentLogger(),
  });
  registry.alive(caps('self'), 0, 'RUNNING', Date.now());
  // A live peer answers its probes; `gone` has nobody on its probe subject (a process that died).
  registry.alive(caps('live'), 0, 'RUNNING', Date.now());
  const sub = shared.nc.subscribe(subjects.probe('n-live', 'live'), {
    callback: (_e, m) => {
      m.respond(new TextEncoder().encode(JSON.stringify({ type: 'wfmesh.probe.ack.v1', id: 'live', incarnation: 0, state: 'RUNNING', load: { inflight: 0, max_concurrency: 8, cpu_pct: 0 }, memory_free_mib: 512, members: registry.digest() })));
    },
  });
  await shared.nc.flush();
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
