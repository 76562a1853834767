/**
 * `npm run bench:scale -- --nodes 10,100,400,1000 [--steady-s 10] [--hosts 8] [--converge-s 300] [--no-stall]`:
 * membership at scale on one nats-server. For each N: N nodes in a few processes (2 full nodes
 * per process, the rest membership peers running the same membership code), then
 *  - join: cold-start convergence (every node sees all N) and one more node joining;
 *  - steady state: server messages and bytes per second in and out (nats-server /varz), the
 *    membership broadcasts seen by kind, CPU and RSS per node, and any death declared while
 *    nothing failed;
 *  - stall: 25% of the nodes (whole processes) frozen with SIGSTOP for 4 s while the full nodes
 *    among them coordinate executions: deaths of nodes that kept running, how long until every
 *    node sees all N again, and whether every execution completed.
 * Then the log-log slope of server deliveries per second against N, the extrapolation to 10,000
 * nodes, and placement's cost over 1,000 and 10,000 peers. One JSON object on stdout; progress on
 * stderr (MESH_HOST_DEBUG=<regexp> adds the debug log of the membership peers it matches).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { silentLogger } from '../src/log/index.js';
import { startNatsServer, type NatsServerProcess } from '../src/nats/index.js';
import { ExecutionStore } from '../src/store/index.js';
import { MeshHost, planNodes, sumStats, type HostStats } from '../test/harness/mesh-hosts.js';
import { measurePlacement } from './scale-placement.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const SIZES = (arg('nodes') ?? '10,100,400,1000').split(',').map(Number).filter((n) => n > 0);
const STEADY_S = Number(arg('steady-s') ?? 10);
const MAX_HOSTS = Number(arg('hosts') ?? 8);
const STALL = !process.argv.includes('--no-stall');
const CONVERGE_MS = Number(arg('converge-s') ?? 300) * 1000;
const HEARTBEAT_MS = 1_000;
const say = (m: string) => process.stderr.write(`${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Varz {
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  cpu: number;
}

async function varz(server: NatsServerProcess): Promise<Varz> {
  return (await (await fetch(`${server.monitorUrl}/varz`)).json()) as Varz;
}

const stats = (hosts: readonly MeshHost[], about?: string) => Promise.all(hosts.map((h) => h.call<HostStats>({ cmd: 'stats', ...(about !== undefined && { about }) })));

/** Waits for `check`; `progress` is said every 10 s meanwhile. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, progress?: () => Promise<string>): Promise<number> {
  const start = Date.now();
  let saidAt = start;
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    if (progress && Date.now() - saidAt >= 10_000) {
      saidAt = Date.now();
      say(`  ${Math.round((saidAt - start) / 1000)} s: ${await progress()}`);
    }
    await sleep(Date.now() - start > 10_000 ? 500 : 100);
  }
  return Date.now() - start;
}

async function viewsNow(hosts: readonly MeshHost[]): Promise<string> {
  const s = sumStats(await stats(hosts));
  return `views ${s.minView} (${s.smallestView})..${s.maxView}, open suspicions ${s.suspected}, deaths declared ${[...s.deaths.values()].reduce((a, d) => a + d.count, 0)}`;
}

const WORKFLOW = `workflows:
  main:
${[1, 2, 3, 4, 5, 6].map((i) => `    - {id: s${i}, tool: sleep, args: {ms: 500}}`).join('\n')}
`;

async function runSize(n: number): Promise<Record<string, unknown>> {
  const workDir = mkdtempSync(join(tmpdir(), 'wfmesh-scale-'));
  const server = await startNatsServer({ workDir, jetstreamDir: join(workDir, 'js') });
  // Four processes at least, so that freezing one in four is a quarter of the nodes.
  const hostCount = Math.max(4, Math.min(MAX_HOSTS, Math.ceil(n / 50)));
  const fullCount = Math.min(n, 2 * hostCount);
  const plan = planNodes(n, hostCount, fullCount, `s${n}`, ['eu-west', 'eu-north', 'us-east', 'ap-south']);
  const hosts = await Promise.all(plan.map(() => MeshHost.spawn()));
  const out: Record<string, unknown> = { nodes: n, processes: hostCount, full_nodes: fullCount, membership_peers: n - fullCount };
  const nc = await connect({ servers: server.url });
  try {
    say(`N=${n}: starting ${n} nodes in ${hostCount} processes...`);
    const startedAt = Date.now();
    await Promise.all(hosts.map((h, i) => h.start(server.url, plan[i]!, HEARTBEAT_MS, 10)));
    const allStarted = Date.now() - startedAt;
    const converged = await until(`all ${n} nodes to see each other`, async () => sumStats(await stats(hosts)).minView === n, CONVERGE_MS, () => viewsNow(hosts)).then(
      () => true,
      () => false,
    );
    out.cold_start_ms = { all_started: allStarted, all_see_all: converged ? Date.now() - startedAt : null };
    if (!converged) {
      // A machine this small may not finish a cold start of this size: say how far it got, and
      // still measure the steady state (the traffic figure does not depend on full views).
      const s = sumStats(await stats(hosts));
      out.cold_start_views = { min: s.minView, max: s.maxView, open_suspicions: s.suspected };
    }

    say(`N=${n}: one more node joins...`);
    const extra = { name: `s${n}-join`, region: 'eu-west', full: false };
    const joinAt = Date.now();
    await hosts[0]!.start(server.url, [extra], HEARTBEAT_MS);
    // Every other node lists the newcomer (whatever else their views hold meanwhile).
    const joined = await until('every node to see the newcomer', async () => sumStats(await stats(hosts, extra.name)).knowing === n, 60_000).then(
      () => true,
      () => false,
    );
    out.join_converge_ms = joined ? Date.now() - joinAt : null;
    if (!joined) out.join_known_by = sumStats(await stats(hosts, extra.name)).knowing;
    const total = n + 1;

    say(`N=${n}: steady state for ${STEADY_S} s...`);
    await sleep(2_000);
    await Promise.all(hosts.map((h) => h.call({ cmd: 'reset' })));
    // What the broadcasts of the steady state are (each one is delivered to every node).
    const broadcasts: Record<string, number> = {};
    const tally = nc.subscribe('wfmesh.member.>', {
      callback: (_err, m) => {
        const e = JSON.parse(new TextDecoder().decode(m.data)) as { kind?: string; caps?: unknown };
        const kind = e.kind === 'alive' && e.caps === undefined ? 'alive_without_caps' : String(e.kind);
        broadcasts[kind] = (broadcasts[kind] ?? 0) + 1;
      },
    });
    const v0 = await varz(server);
    const t0 = Date.now();
    await sleep(STEADY_S * 1_000);
    const v1 = await varz(server);
    const secs = (Date.now() - t0) / 1000;
    tally.unsubscribe();
    out.broadcasts_per_s = Object.fromEntries(Object.entries(broadcasts).map(([k, v]) => [k, Math.round((v / secs) * 10) / 10]));
    const steady = sumStats(await stats(hosts));
    const rate = (a: number, b: number) => Math.round((b - a) / secs);
    out.server = {
      msgs_in_per_s: rate(v0.in_msgs, v1.in_msgs),
      msgs_out_per_s: rate(v0.out_msgs, v1.out_msgs),
      bytes_in_per_s: rate(v0.in_bytes, v1.in_bytes),
      bytes_out_per_s: rate(v0.out_bytes, v1.out_bytes),
      cpu_pct: v1.cpu,
    };
    out.per_node = {
      cpu_pct: Math.round((steady.cpuMs / (secs * 1000) / total) * 100 * 1000) / 1000,
      rss_mib: Math.round((steady.rssMib / total) * 100) / 100,
      msgs_per_s: Math.round(((v1.out_msgs - v0.out_msgs + v1.in_msgs - v0.in_msgs) / secs / total) * 100) / 100,
    };
    out.steady_false_deaths = [...steady.deaths.values()].reduce((a, d) => a + d.count, 0);

    if (STALL && converged) out.stall = await stallTest(hosts, nc, total);
  } finally {
    await Promise.allSettled(hosts.map((h) => h.close()));
    await nc.close();
    await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  return out;
}

async function stallTest(hosts: MeshHost[], nc: Awaited<ReturnType<typeof connect>>, total: number): Promise<Record<string, unknown>> {
  const frozen = hosts.slice(0, Math.max(1, Math.round(hosts.length / 4)));
  const frozenNames = new Set(frozen.flatMap((h) => h.nodes.map((x) => x.name)));
  say(`stall: freezing ${frozenNames.size} of ${total} nodes (${frozen.length} processes) for 4 s...`);
  const ids: string[] = [];
  for (const h of frozen) {
    for (const node of h.nodes.filter((x) => x.full)) ids.push(...(await h.call<{ ids: string[] }>({ cmd: 'execute', node: node.name, yaml: WORKFLOW, count: 3 })).ids);
  }
  await Promise.all(hosts.map((h) => h.call({ cmd: 'reset' })));
  await sleep(300);
  for (const h of frozen) h.freeze();
  await sleep(4_000);
  for (const h of frozen) h.thaw();
  const thawedAt = Date.now();
  let recoveryMs: number | undefined;
  try {
    recoveryMs = await until('every node to see every node again', async () => sumStats(await stats(hosts)).minView === total, 60_000);
  } catch {
    recoveryMs = undefined;
  }
  const store = new ExecutionStore(nc, { log: silentLogger() });
  const ended = async () => {
    for (const id of ids) {
      const h = (await store.getHeader(id))?.record;
      if (!h || h.status === 'running' || h.status === 'pending') return false;
    }
    return true;
  };
  await until('the executions to end', ended, 120_000).catch(() => undefined);
  const records = await Promise.all(ids.map(async (id) => (await store.get(id))?.record));
  await sleep(1_000);
  const { deaths } = sumStats(await stats(hosts));
  const falseDeaths = [...deaths].filter(([name]) => !frozenNames.has(name));
  return {
    frozen_nodes: frozenNames.size,
    frozen_ms: 4_000,
    false_deaths_of_running_nodes: falseDeaths.reduce((a, [, d]) => a + d.count, 0),
    running_nodes_declared_dead: falseDeaths.length,
    ...(falseDeaths.length > 0 && { running_nodes_declared_dead_names: falseDeaths.slice(0, 10).map(([name]) => name) }),
    frozen_nodes_declared_dead: [...deaths.keys()].filter((n) => frozenNames.has(n)).length,
    frozen_full_nodes_declared_dead: [...deaths.keys()].filter((n) => frozen.some((h) => h.nodes.some((x) => x.full && x.name === n))).length,
    recovery_ms: recoveryMs ?? null,
    recovered_after_thaw_ms: Date.now() - thawedAt,
    executions: {
      coordinated_by_frozen_nodes: ids.length,
      completed: records.filter((r) => r?.status === 'completed').length,
      failed: records.filter((r) => r && r.status !== 'completed').length,
      taken_over: records.filter((r) => (r?.epoch ?? 1) > 1).length,
    },
  };
}

/** Least-squares slope of log(y) against log(x), and its fit. */
function logLogFit(points: readonly [number, number][]): { slope: number; at: (x: number) => number } {
  const xs = points.map(([x]) => Math.log(x));
  const ys = points.map(([, y]) => Math.log(Math.max(1, y)));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const slope = den ? num / den : 0;
  const b = my - slope * mx;
  return { slope: Math.round(slope * 1000) / 1000, at: (x) => Math.round(Math.exp(b + slope * Math.log(x))) };
}

async function main(): Promise<void> {
  const runs: Record<string, unknown>[] = [];
  for (const n of SIZES) {
    const r = await runSize(n);
    say(JSON.stringify(r));
    runs.push(r);
  }
  const points = runs.map((r) => [r.nodes as number, (r.server as { msgs_out_per_s: number }).msgs_out_per_s] as [number, number]);
  const bytePoints = runs.map((r) => [r.nodes as number, (r.server as { bytes_out_per_s: number }).bytes_out_per_s] as [number, number]);
  const fit = points.length > 1 ? logLogFit(points) : undefined;
  const byteFit = bytePoints.length > 1 ? logLogFit(bytePoints) : undefined;
  say('placement over 1,000 and 10,000 peers...');
  const result = {
    heartbeat_ms: HEARTBEAT_MS,
    runs,
    deliveries_per_s_loglog_slope: fit?.slope ?? null,
    bytes_out_per_s_loglog_slope: byteFit?.slope ?? null,
    extrapolated_10000: fit && byteFit ? { msgs_out_per_s: fit.at(10_000), bytes_out_per_s: byteFit.at(10_000) } : null,
    placement: measurePlacement(),
    machine: { cpus: availableParallelism(), node: process.version },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench:scale failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
