/**
 * `npm run bench [-- --json] [-- --quick]`: wfmesh's figures measured side by side with raw NATS
 * request-reply in the same run, on a real 3-server nats-server cluster on loopback.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { silentLogger } from '../src/log/index.js';
import { findNatsServerBinary, startNatsCluster } from '../src/nats/index.js';
import { compileNodeOptions, startNode } from '../src/node/index.js';
import { measureCli } from './cli.js';
import { measureMcpWorkflow10 } from './mcp.js';
import { measureMembership } from './membership.js';
import { measureRtt, measureThroughput, startResponder } from './raw-nats.js';
import { median, medianSummary, round } from './stats.js';
import { measureSteps } from './steps.js';

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
    say('raw NATS request-reply, two processes one route apart...');
    const responder = await startResponder(s2, 'bench.echo');
    cleanups.push(() => responder.kill('SIGKILL'));
    const nc = await connect({ servers: s1 });
    cleanups.push(() => nc.close());
    const payload = new TextEncoder().encode(JSON.stringify({ message: 'hello' }));
    const rtt: { p50: number; p99: number }[] = [];
    const tput: number[] = [];
    for (let r = 0; r < rounds; r++) {
      rtt.push(await measureRtt(nc, 'bench.echo', quick ? 500 : 2_000, payload));
      tput.push(await measureThroughput(() => nc.request('bench.echo', payload, { timeout: 5_000 }), quick ? 5_000 : 20_000, 64));
    }
    result.raw_nats_rtt_us = medianSummary(rtt);
    result.raw_nats_throughput_per_s = Math.round(median(tput));

    say('a node in this process as coordinator and observer...');
    const observer = await startNode(compileNodeOptions({ nats: s1, name: 'bench-coordinator', noMcp: true }, {}), silentLogger());
    cleanups.push(() => observer.stop());

    Object.assign(result, await measureSteps({ observer, nc, urls: cluster.urls, rounds, quick, say, raw: result }));

    say('MCP execute_workflow over HTTP...');
    result.mcp_workflow10_ms = await measureMcpWorkflow10(s1, quick ? 30 : 200);

    say('membership: join visibility, dead-node detection, memory...');
    Object.assign(result, await measureMembership(observer, s2, quick ? 2 : 3));

    say('CLI start-up: wfmesh --help, wfmesh nodes...');
    Object.assign(result, await measureCli(s1, quick ? 3 : 7));
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
