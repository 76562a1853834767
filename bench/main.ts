/**
 * `npm run bench [-- --json] [-- --quick]`: wfmesh's figures measured side by side with raw NATS
 * request-reply and Moleculer in the same run, on a real 3-server nats-server cluster on loopback.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { silentLogger } from '../src/log/index.js';
import { findNatsServerBinary, startNatsCluster } from '../src/nats/index.js';
import { compileNodeOptions, startNode } from '../src/node/index.js';
import { measureCli } from './cli.js';
import { measureIdle, measureRssUnderSteps } from './idle.js';
import { measureMcpWorkflow10 } from './mcp.js';
import { measureMembership, meshIdle } from './membership.js';
import { startNodeProcess } from './node-process.js';
import { startResponder } from './raw-nats.js';
import { round } from './stats.js';
import { measureSteps } from './steps.js';
import { measureTakeover } from './takeover.js';
import { measureVersus, startMoleculer } from './versus.js';

const HEAP_PROBE = fileURLToPath(new URL('./heap-probe.mjs', import.meta.url));
const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const rounds = quick ? 2 : 5;
const say = (msg: string) => {
  if (!json) process.stderr.write(`${msg}\n`);
};

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'wfmesh-bench-'));
  const cluster = await startNatsCluster({ workDir, size: 3, jetstream: true });
  const [s1, s2] = cluster.urls as [string, string, string];
  const result: Record<string, unknown> = {};
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  try {
    say('raw NATS responder, Moleculer worker and 3 wfmesh worker nodes (bench-w1..3, one per server)...');
    const responder = await startResponder(s2, 'bench.echo');
    cleanups.push(() => responder.kill('SIGKILL'));
    // The floor: a plain nats.js caller, without the per-request stack trace (as wfmesh's own connections).
    const nc = await connect({ servers: s1, noAsyncTraces: true });
    cleanups.push(() => nc.close());
    const moleculerPeer = await startMoleculer(s1, s2, 'bench-mol-w2');
    cleanups.push(() => moleculerPeer.stop());
    const observer = await startNode(compileNodeOptions({ nats: s1, name: 'bench-coordinator', noMcp: true }, {}), silentLogger());
    cleanups.push(() => observer.stop());
    const workers = [];
    for (let i = 0; i < 3; i++) {
      // bench-w2 carries the heap probe (dormant until the memory figures ask): see measureRssUnderSteps.
      const probe = i === 1 ? ['--expose-gc', '--import', HEAP_PROBE] : [];
      const w = await startNodeProcess(['--nats', cluster.urls[i]!, '--name', `bench-w${i + 1}`, '--label', 'role=worker', '--no-mcp', '--max-concurrency', '64'], probe);
      cleanups.push(() => w.kill('SIGKILL'));
      workers.push(w);
    }
    while (observer.registry.size < 4) await new Promise((r) => setTimeout(r, 20));
    const w2 = { ...workers[1]!, name: 'bench-w2' };

    say('raw NATS, Moleculer and wfmesh side by side (caller on server 1, worker on server 2)...');
    const natsPids = cluster.servers.map((s) => s.pid);
    const monitorUrls = cluster.servers.map((s) => s.monitorUrl);
    Object.assign(result, await measureVersus({ observer, nc, responderPid: responder.pid!, worker: w2, urls: cluster.urls, natsPids, monitorUrls, rounds, quick }, moleculerPeer, say));

    Object.assign(result, await measureSteps({ observer, rounds, quick, say, raw: result }));

    say('MCP execute_workflow over HTTP...');
    const mcp = await measureMcpWorkflow10(s1, quick ? 30 : 200, quick);
    result.mcp_workflow10_ms = mcp.warm;
    result.mcp_workflow10_first_runs_ms = mcp.first;
    const chain = result.wfmesh_chain10_ms as { p50: number } | undefined;
    if (chain) result.mcp_over_chain10 = Math.round((mcp.warm.p50 / chain.p50) * 100) / 100;
    result.mcp_engine_paired_ms = mcp.engine;
    result.mcp_over_engine_paired = Math.round((mcp.warm.p50 / mcp.engine.p50) * 100) / 100;

    say(`memory of a worker node under ${quick ? '10k' : '100k'} steps, then ${quick ? '40k' : '900k'} more...`);
    Object.assign(result, await measureRssUnderSteps(observer, w2, quick ? 10_000 : 100_000, quick ? 40_000 : 900_000));

    say('membership: join visibility, dead-node detection...');
    Object.assign(result, await measureMembership(observer, s2, quick ? 2 : 3));

    say('takeover: a coordinator killed while its step runs, until its successor dispatches the next...');
    Object.assign(result, await measureTakeover(observer, nc, s1, quick ? 1 : 3));

    say('CLI start-up: wfmesh --help, wfmesh nodes...');
    Object.assign(result, await measureCli(s1, quick ? 3 : 7));
    const idleS = quick ? 5 : 60;
    say(`an idle node and an idle Moleculer worker side by side for ${idleS} s (once nothing has run in the mesh for the activity linger)...`);
    await meshIdle(observer);
    // The Moleculer mesh with wfmesh's detection time gets as many nodes as the idle node's mesh:
    // the coordinator, the workers, the connection watcher and the idle node itself.
    Object.assign(result, await measureIdle(cluster.urls[2]!, idleS * 1000, workers.length + 3));
  } finally {
    for (const c of cleanups.reverse()) await c();
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  let natsVersion = 'unknown';
  try {
    natsVersion = execFileSync(findNatsServerBinary(), ['--version']).toString().trim();
  } catch {
    /* keep unknown */
  }
  result.machine = { cpus: availableParallelism(), node: process.version, nats_server: natsVersion };
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);

export { round };
