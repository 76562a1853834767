/**
 * `node --import tsx bench/profile-step.ts [--calls N] [--out DIR] [--cpu]`: where one remote step
 * call spends its CPU, caller and worker side (a tool for work on the hot path, not part of
 * `npm run bench`). A 3-server cluster on loopback, a worker node process on server 2, and this
 * process as the caller on server 1. By default both are profiled (the worker with --cpu-prof, the
 * caller with the inspector) and the top self-time functions printed; with `--cpu`, nothing is
 * profiled and the CPU per call of caller, worker and nats-servers is printed next to Moleculer's,
 * three rounds, 64 calls in flight. With `--turnaround`, each process's own share of a sequential
 * round trip (bench/turnaround-probe.mjs: from a socket's data to its next write, caller and
 * worker) for wfmesh's dispatcher, its engine (a ten-step chain) and Moleculer, five rounds.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshStepRunner } from '../src/dispatch/index.js';
import { silentLogger } from '../src/log/index.js';
import { startNatsCluster } from '../src/nats/index.js';
import { compileNodeOptions, startNode } from '../src/node/index.js';
import { startNodeProcess } from './node-process.js';
import { cpuMeter } from './proc.js';
import { startMoleculer } from './versus.js';
import { measureThroughput } from './raw-nats.js';
import { echoCall } from './steps.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] as string) : dflt;
};
const calls = Number(arg('--calls', '20000'));
const out = arg('--out', mkdtempSync(join(tmpdir(), 'wfmesh-prof-')));

interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; id: number }
function top(file: string, n = 25): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
  const total = prof.samples.length || 1;
  const by = new Map<string, number>();
  for (const node of prof.nodes) {
    const f = node.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${f.lineNumber + 1}`;
    by.set(key, (by.get(key) ?? 0) + node.hitCount);
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}% ${k}`);
}

const workDir = mkdtempSync(join(tmpdir(), 'wfmesh-prof-nats-'));
const cluster = await startNatsCluster({ workDir, size: 3, jetstream: true });
const cpuOnly = process.argv.includes('--cpu');
const turnaround = process.argv.includes('--turnaround');
const PROBE = fileURLToPath(new URL('./turnaround-probe.mjs', import.meta.url));
// Every child started from here (worker node, Moleculer worker) reports there on SIGUSR2.
if (turnaround) process.env.TURNAROUND_OUT = join(workDir, 'turnaround.jsonl');
// `--worker-env K=V,K=V`: the worker node's environment (e.g. WFMESH_LOG_WRITE=sync).
const workerEnv = Object.fromEntries(arg('--worker-env', '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
const workerArgs = turnaround ? ['--import', PROBE] : cpuOnly ? [] : ['--cpu-prof', '--cpu-prof-interval', '50', `--cpu-prof-dir=${out}`];
const worker = await startNodeProcess(['--nats', cluster.urls[1] as string, '--name', 'prof-w2', '--no-mcp', '--max-concurrency', '64'], workerArgs, workerEnv);
const observer = await startNode(compileNodeOptions({ nats: cluster.urls[0], name: 'prof-caller', noMcp: true }, {}), silentLogger());
while (observer.registry.size < 2) await new Promise((r) => setTimeout(r, 20));
const runner = new MeshStepRunner({ nc: observer.nc, registry: observer.registry, origin: observer.name, log: silentLogger() });
const never = new AbortController().signal;
const pinned = { node: 'prof-w2' }; // one object, as a workflow step's `requires` is
const call = () => runner.run(echoCall(pinned), never);
await measureThroughput(call, 2_000, 64); // warm up

/** Stops everything this run started and exits (the profiling mode waits for the worker's profile instead). */
async function finish(mol?: { stop(): Promise<void> }): Promise<never> {
  await mol?.stop();
  worker.kill('SIGKILL');
  await observer.stop();
  await cluster.stop();
  rmSync(workDir, { recursive: true, force: true });
  process.exit(0);
}

/** A ten-step workflow through the engine, every step on the worker (loaded only by the modes that use it). */
async function engineChain(): Promise<() => Promise<unknown>> {
  const { runExecution } = await import('../src/engine/index.js');
  const { stepRunners } = await import('../src/node/index.js');
  const { loadWorkflowDocument } = await import('../src/workflow/index.js');
  const { echoChainYaml } = await import('./steps.js');
  const doc = loadWorkflowDocument(echoChainYaml(10, '{node: prof-w2}'));
  const engineRunner = stepRunners(observer)('distributed');
  return () => runExecution({ document: doc, input: 'hi', runner: engineRunner, mode: 'distributed', coordinator: observer.name });
}
if (turnaround) {
  const probe = (await import(PROBE)) as { report(): { pid: number; n: number; p25: number; p50: number; p75: number; away_p50: number } };
  const mol = await startMoleculer(cluster.urls[0] as string, cluster.urls[1] as string, 'prof-mol-w2', ['--import', PROBE]);
  const systems = [
    { name: 'wfmesh_dispatcher', run: call, steps: 1, workerPid: worker.pid },
    { name: 'wfmesh_engine', run: await engineChain(), steps: 10, workerPid: worker.pid },
    { name: 'moleculer', run: () => mol.call('bench.echo', { message: 'hello' }, { nodeID: 'prof-mol-w2' }), steps: 1, workerPid: mol.worker.pid as number },
  ];
  /** The worker's figures since its last report (it appends them to TURNAROUND_OUT on SIGUSR2). */
  const workerReport = async (pid: number) => {
    process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 200));
    const lines = readFileSync(process.env.TURNAROUND_OUT as string, 'utf8').trim().split('\n');
    return JSON.parse(lines.filter((l) => l.includes(`"pid":${pid},`)).pop() as string) as ReturnType<typeof probe.report>;
  };
  for (let round = 0; round < 5; round++) {
    for (const sys of round % 2 === 0 ? systems : [...systems].reverse()) {
      for (let i = 0; i < 20; i++) await sys.run();
      await workerReport(sys.workerPid);
      probe.report();
      for (let i = 0; i < 2_000 / sys.steps; i++) await sys.run();
      const { p25, p50, p75, away_p50 } = probe.report();
      const w = await workerReport(sys.workerPid);
      process.stdout.write(`${JSON.stringify({ system: sys.name, turnaround_us: { caller: { p25, p50, p75 }, worker: { p25: w.p25, p50: w.p50, p75: w.p75 } }, caller_away_p50_us: away_p50 })}\n`);
    }
  }
  await finish(mol);
}
if (process.argv.includes('--chain')) {
  // Ten sequential calls made directly, against the same ten steps through the engine.
  const chain = await engineChain();
  const p50 = async (f: () => Promise<unknown>): Promise<number> => {
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await f();
      samples.push(performance.now() - t0);
    }
    return Math.round((samples.sort((a, b) => a - b)[100] as number) * 100) / 100;
  };
  for (let round = 0; round < 3; round++) {
    const direct = await p50(async () => {
      for (let i = 0; i < 10; i++) await call();
    });
    const engine = await p50(chain);
    process.stdout.write(`${JSON.stringify({ chain10_ms: { direct_calls: direct, engine } })}\n`);
  }
  await finish();
}
if (cpuOnly) {
  const mol = await startMoleculer(cluster.urls[0] as string, cluster.urls[1] as string, 'prof-mol-w2');
  const molCall = () => mol.call('bench.echo', { message: 'hello' }, { nodeID: 'prof-mol-w2' });
  await measureThroughput(molCall, 2_000, 64);
  const nats = cluster.servers.map((s) => s.pid);
  /** Messages and bytes every server received and sent (routes included), from /varz. */
  const traffic = async () => {
    const sum = { in_msgs: 0, out_msgs: 0, in_bytes: 0 };
    for (const s of cluster.servers) {
      const v = (await (await fetch(`${s.monitorUrl}/varz`)).json()) as typeof sum;
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += v[k];
    }
    return sum;
  };
  const perCall = (us: number) => Math.round((us / calls) * 10) / 10;
  const per2 = (n: number) => Math.round((n / calls) * 10_000) / 10_000;
  /** Read and write system calls a process made so far (/proc/<pid>/io). */
  const syscalls = (pid: number) => {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return { r: Number(/syscr: (\d+)/.exec(io)?.[1]), w: Number(/syscw: (\d+)/.exec(io)?.[1]) };
  };
  const rtt = async (send: () => Promise<unknown>): Promise<number> => {
    const samples: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const t0 = performance.now();
      await send();
      samples.push((performance.now() - t0) * 1000);
    }
    return Math.round(samples.sort((a, b) => a - b)[500] as number);
  };
  for (let round = 0; round < 3; round++) {
    process.stdout.write(`${JSON.stringify({ rtt_p50_us: { wfmesh: await rtt(call), moleculer: await rtt(molCall) } })}\n`);
    for (const [name, send, workerPid] of [['wfmesh', call, worker.pid], ['moleculer', molCall, mol.worker.pid as number]] as const) {
      const c = cpuMeter([process.pid]);
      const w = cpuMeter([workerPid]);
      const io0 = [syscalls(process.pid), syscalls(workerPid)];
      const n = cpuMeter(nats);
      const before = await traffic();
      const perS = await measureThroughput(send, calls, 64);
      const [cu, wu, nu] = [c.stop(), w.stop(), n.stop()];
      const io1 = [syscalls(process.pid), syscalls(workerPid)];
      const writes = { caller: per2(io1[0]!.w - io0[0]!.w), worker: per2(io1[1]!.w - io0[1]!.w) };
      const reads = { caller: per2(io1[0]!.r - io0[0]!.r), worker: per2(io1[1]!.r - io0[1]!.r) };
      const after = await traffic();
      const per = (k: keyof typeof after) => Math.round(((after[k] - before[k]) / calls) * 100) / 100;
      const wire = { msgs_in: per('in_msgs'), msgs_out: per('out_msgs'), bytes_in: per('in_bytes') };
      process.stdout.write(`${JSON.stringify({ system: name, per_s: perS, cpu_us_per_call: { caller: perCall(cu), worker: perCall(wu), nats: perCall(nu), total: perCall(cu + wu + nu) }, per_call_all_servers: wire, syscalls_per_call: { writes, reads } })}\n`);
    }
  }
  await finish(mol);
}
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 50 });
await session.post('Profiler.start');
const t0 = performance.now();
const perS = await measureThroughput(call, calls, 64);
const { profile } = await session.post('Profiler.stop');
writeFileSync(join(out, 'caller.cpuprofile'), JSON.stringify(profile));
process.stdout.write(`${calls} calls, ${Math.round(perS)}/s in ${Math.round(performance.now() - t0)} ms; profiles in ${out}\n`);
worker.kill('SIGINT');
await new Promise((r) => setTimeout(r, 1_500));
await observer.stop();
await cluster.stop();
rmSync(workDir, { recursive: true, force: true });
process.stdout.write(`\n== caller ==\n${top(join(out, 'caller.cpuprofile')).join('\n')}\n`);
const workerProf = readdirSync(out).find((f) => f.startsWith('CPU.'));
if (workerProf) process.stdout.write(`\n== worker ==\n${top(join(out, workerProf)).join('\n')}\n`);
process.exit(0);
