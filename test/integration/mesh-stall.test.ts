/**
 * No false deaths from lag: a 50-node mesh (5 processes of 10 nodes, 10 of them full nodes, the
 * others membership peers) with one process frozen (SIGSTOP) for 4 s. Every execution, including
 * those the frozen nodes coordinated, completes; no node that kept running is declared dead by
 * anyone; and the frozen nodes are members again once they thaw.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { silentLogger } from '../../src/log/index.js';
import { ExecutionStore } from '../../src/store/index.js';
import { MeshHost, planNodes, sumStats, type HostStats } from '../harness/mesh-hosts.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { waitFor } from '../harness/processes.js';

const NODES = 50;
const HOSTS = 5;

let nats: TestNats;
let nc: NatsConnection;
const hosts: MeshHost[] = [];

before(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await Promise.allSettled(hosts.map((h) => h.close()));
  await nc?.close();
  await nats?.stop();
});

const stats = (of: readonly MeshHost[]) => Promise.all(of.map((h) => h.call<HostStats>({ cmd: 'stats' })));

/** Five sleeps of 400 ms: long enough to be caught by the freeze, short enough for a test. */
const WORKFLOW = `workflows:
  main:
${[1, 2, 3, 4, 5].map((i) => `    - {id: s${i}, tool: sleep, args: {ms: 400}}`).join('\n')}
`;

test('50 nodes, 10 frozen for 4 s: no execution fails and no live node is dropped', async (t) => {
  const plan = planNodes(NODES, HOSTS, 10, 'stall', ['eu-west', 'us-east']);
  hosts.push(...(await Promise.all(plan.map(() => MeshHost.spawn()))));
  await Promise.all(hosts.map((h, i) => h.start(nats.url, plan[i]!, 1_000)));
  // This test is about the freeze below; the cold start before it is only its set-up. On 2 cores a
  // 50-node cold start converged in 3-19 s in most runs and in 27-57 s in some (see
  // docs/membership.md, "What is left"): the set-up waits up to two minutes and says how long it took.
  const t0 = Date.now();
  await waitFor('every node to see all 50', async () => (sumStats(await stats(hosts)).minView === NODES ? true : undefined), 120_000);
  t.diagnostic(`converged in ${Date.now() - t0} ms`);

  const frozen = hosts[0]!;
  const running = hosts.slice(1);
  const ids: string[] = [];
  for (const host of hosts) {
    for (const n of host.nodes.filter((x) => x.full)) ids.push(...(await host.call<{ ids: string[] }>({ cmd: 'execute', node: n.name, yaml: WORKFLOW, count: 3 })).ids);
  }
  const frozenNames = new Set(frozen.nodes.map((n) => n.name));
  await Promise.all(hosts.map((h) => h.call({ cmd: 'reset' })));

  frozen.freeze();
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  frozen.thaw();

  const store = new ExecutionStore(nc, { log: silentLogger() });
  await waitFor(
    `${ids.length} executions to end`,
    async () => {
      for (const id of ids) {
        const h = (await store.getHeader(id))?.record;
        if (!h || h.status === 'running' || h.status === 'pending') return undefined;
      }
      return true;
    },
    90_000,
  );
  let takenOver = 0;
  for (const id of ids) {
    const r = (await store.get(id))?.record;
    assert.equal(r?.status, 'completed', `${id}: ${r?.status} ${r?.error?.message ?? ''}`);
    if ((r?.epoch ?? 1) > 1) takenOver++;
  }
  await waitFor('the thawed nodes to be members again everywhere', async () => (sumStats(await stats(hosts)).minView === NODES ? true : undefined), 30_000);
  const { deaths } = sumStats(await stats([...running, frozen]));
  const falseDeaths = [...deaths].filter(([name]) => !frozenNames.has(name));
  assert.deepEqual(falseDeaths, [], 'no node that kept running was declared dead');
  t.diagnostic(`executions: ${ids.length} completed, ${takenOver} of them taken over; frozen nodes declared dead: ${[...deaths.keys()].filter((n) => frozenNames.has(n)).length} of ${frozenNames.size}`);
});
