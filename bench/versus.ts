/**
 * wfmesh next to raw NATS and Moleculer on the same cluster, interleaved round by round so that a
 * noisy machine hits all three alike: one remote call (caller on server 1, worker on server 2),
 * calls/s with 64 in flight, a 10-call sequential chain, and the CPU per call of every process
 * involved (caller, worker, the three nats-servers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import moleculer from 'moleculer';
import type { NatsConnection } from 'nats';
import { MeshStepRunner } from '../src/dispatch/index.js';
import { runExecution } from '../src/engine/index.js';
import { silentLogger } from '../src/log/index.js';
import { stepRunners, type MeshNode } from '../src/node/index.js';
import { loadWorkflowDocument } from '../src/workflow/index.js';
import { cpuMeter } from './proc.js';
import { measureThroughput } from './raw-nats.js';
import { median, medianSummary, nowUs, round, summary, type Summary } from './stats.js';
import { echoCall, echoChainYaml } from './steps.js';

const MOLECULER_WORKER = fileURLToPath(new URL('./moleculer-worker.mjs', import.meta.url));

/** One system under test: how to make one call to its worker on server 2, and a 10-call chain. */
interface System {
  name: 'raw_nats' | 'moleculer' | 'wfmesh';
  call(): Promise<unknown>;
  chain10(): Promise<unknown>;
  /** wfmesh only: ten sequential calls of the dispatcher, without the engine (where the chain's time goes). */
  directChain10?(): Promise<unknown>;
  /** The processes whose CPU is this system's cost: worker(s); the caller and nats-servers are added. */
  workerPids: number[];
}

export interface VersusContext {
  observer: MeshNode;
  nc: NatsConnection;
  /** The raw NATS responder process on server 2. */
  responderPid: number;
  /** The wfmesh worker node on server 2, and its name. */
  worker: { pid: number; name: string };
  urls: string[];
  natsPids: number[];
  /** The servers' monitoring URLs (/varz: the messages they handled). */
  monitorUrls: string[];
  rounds: number;
  quick: boolean;
}

export interface MoleculerPeer {
  call(action: string, params: unknown, opts: { nodeID: string }): Promise<unknown>;
  worker: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a Moleculer worker process (`nodeID`) on `workerUrl` and a caller broker in this process on `callerUrl`. */
export async function startMoleculer(callerUrl: string, workerUrl: string, nodeID: string, nodeArgs: string[] = []): Promise<MoleculerPeer> {
  const worker = await startMoleculerWorker(workerUrl, nodeID, nodeArgs);
  const broker = new moleculer.ServiceBroker({
    nodeID: `bench-caller-${process.pid}`,
    transporter: { type: 'NATS', options: { servers: [callerUrl] } },
    serializer: 'JSON',
    metrics: false,
    tracing: false,
    logger: false,
  });
  await broker.start();
  await broker.waitForServices('bench', 15_000);
  return {
    call: (action, params, opts) => broker.call(action, params as moleculer.GenericObject, opts),
    worker,
    stop: async () => {
      worker.kill('SIGKILL');
      await broker.stop();
    },
  };
}

/** `env`: MOL_HEARTBEAT_S, MOL_HEARTBEAT_TIMEOUT_S, MOL_NAMESPACE (see moleculer-worker.mjs). */
export async function startMoleculerWorker(url: string, nodeID: string, nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, MOLECULER_WORKER, url, nodeID], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`moleculer worker exited with ${code}`)));
  });
  return child;
}

function systems(ctx: VersusContext, mol: MoleculerPeer): System[] {
  const { nc, observer } = ctx;
  const payload = new TextEncoder().encode(JSON.stringify({ message: 'hello' }));
  const rawCall = () => nc.request('bench.echo', payload, { timeout: 5_000 });
  const molCall = (message: string) => mol.call('bench.echo', { message }, { nodeID: 'bench-mol-w2' }) as Promise<{ message: string }>;
  const runner = new MeshStepRunner({ nc: observer.nc, registry: observer.registry, origin: observer.name, log: silentLogger() });
  const never = new AbortController().signal;
  const pinned = { node: ctx.worker.name };
  const chain = loadWorkflowDocument(echoChainYaml(10, `{node: ${ctx.worker.name}}`));
  const engineRunner = stepRunners(observer)('distributed');
  return [
    {
      name: 'raw_nats',
      call: rawCall,
      chain10: async () => {
        for (let i = 0; i < 10; i++) await rawCall();
      },
      workerPids: [ctx.responderPid],
    },
    {
      name: 'moleculer',
      call: () => molCall('hello'),
      chain10: async () => {
        let message = 'hi';
        for (let i = 0; i < 10; i++) ({ message } = await molCall(message));
      },
      workerPids: [mol.worker.pid!],
    },
    {
      name: 'wfmesh',
      call: () => runner.run(echoCall(pinned), never),
      directChain10: async () => {
        for (let i = 0; i < 10; i++) await runner.run(echoCall(pinned), never);
      },
      // Through the engine: the workflow's ten steps, each dispatched to the worker on server 2.
      chain10: async () => {
        const rec = await runExecution({ document: chain, input: 'hi', runner: engineRunner, mode: 'distributed', coordinator: observer.name });
        if (rec.status !== 'completed') throw new Error(`chain10 ${rec.status}: ${JSON.stringify(rec.error)}`);
      },
      workerPids: [ctx.worker.pid],
    },
  ];
}

interface Round {
  rtt: Summary;
  tput: number;
  cpuPerCall: number;
  /** NATS messages the servers took in per call at 64 in flight (a call is 4 when alone: request and reply, each over a route). */
  msgsPerCall: number;
  chain: Summary;
  directChain?: Summary;
}

/** Chains each system runs before the first round, unmeasured (see measureVersus). */
const warmChains = (quick: boolean) => (quick ? 50 : 300);

/** p50 and p99 of `f` in ms over `n` runs after 5 to warm up (after the burst of calls before them). */
async function chainSummary(f: () => Promise<unknown>, n: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < n + 5; i++) {
    const t0 = nowUs();
    await f();
    if (i >= 5) samples.push((nowUs() - t0) / 1000);
  }
  return summary(samples, 2);
}

async function measureRound(sys: System, ctx: VersusContext, round: number): Promise<Round> {
  const { quick } = ctx;
  const rttSamples: number[] = [];
  for (let i = 0; i < (quick ? 500 : 2_000) + 50; i++) {
    const t0 = nowUs();
    await sys.call();
    if (i >= 50) rttSamples.push(nowUs() - t0); // the first 50 warm up
  }
  const total = quick ? 5_000 : 20_000;
  const msgs0 = await serverMessagesIn(ctx.monitorUrls);
  const cpu = cpuMeter([process.pid, ...sys.workerPids, ...ctx.natsPids]);
  const tput = await measureThroughput(sys.call, total, 64);
  const cpuPerCall = cpu.stop() / total;
  const msgsPerCall = ((await serverMessagesIn(ctx.monitorUrls)) - msgs0) / total;
  const chains = quick ? 30 : 200;
  // The first chain after the burst above pays for its garbage and its log writes: the engine's
  // chain and the dispatcher's take turns at going first, round by round.
  const direct = sys.directChain10;
  const directFirst = direct && round % 2 === 1 ? await chainSummary(direct, chains) : undefined;
  const chain = await chainSummary(() => sys.chain10(), chains);
  const directChain = directFirst ?? (direct && (await chainSummary(direct, chains)));
  return { rtt: summary(rttSamples), tput, cpuPerCall, msgsPerCall, chain, ...(directChain && { directChain }) };
}

/** Messages every server has taken in so far (clients and routes), from /varz. */
async function serverMessagesIn(monitorUrls: readonly string[]): Promise<number> {
  let sum = 0;
  for (const url of monitorUrls) sum += ((await (await fetch(`${url}/varz`)).json()) as { in_msgs: number }).in_msgs;
  return sum;
}

/**
 * A pause between systems, for the worker and the servers to finish what the last one left them
 * (log writes, their collectors). No forced collection here: a full collection throws away the
 * optimised code whose object shapes died with the garbage (V8 deoptimises on dead maps: 130 to
 * 150 functions compiled again per round, measured with --trace-deopt), so the system measured
 * next ran its first hundred chains on cold code, a cost no running node pays between two calls.
 * The order of the systems alternates round by round instead: each follows each other as often.
 */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 200));
}

/** Runs the three systems round by round and returns their figures and wfmesh's ratios to the other two. */
export async function measureVersus(ctx: VersusContext, mol: MoleculerPeer, say: (msg: string) => void): Promise<Record<string, unknown>> {
  const all = systems(ctx, mol);
  const rounds = new Map<System['name'], Round[]>(all.map((s) => [s.name, []]));
  // Code that only a chain runs is warmed by chains: the calls measured first in each round run
  // Moleculer's chain code (a chain is ten of its calls) but not wfmesh's engine. With five chains
  // to warm up, the engine's first round ran on code V8 had not optimised yet: blocks of 50 chains
  // in a first round went 4.52, 4.16, 3.75, 3.54 ms, and later rounds stayed near the last of them.
  say(`${warmChains(ctx.quick)} unmeasured chains of each system to warm up...`);
  for (const sys of all) {
    for (let i = 0; i < warmChains(ctx.quick); i++) {
      await sys.chain10();
      await sys.directChain10?.();
    }
  }
  for (let r = 0; r < ctx.rounds; r++) {
    // Forward in even rounds, backward in odd ones: each system measured as often right after
    // each other one, so each pays as often for another's garbage (the callers share this
    // process: its CPU counts in every system's cost per call).
    const order = r % 2 === 0 ? all : [...all].reverse();
    say(`round ${r + 1}/${ctx.rounds}: ${order.map((s) => s.name).join(', ')}...`);
    for (const sys of order) {
      await settle();
      rounds.get(sys.name)!.push(await measureRound(sys, ctx, r));
    }
  }
  const fig = (name: System['name']) => {
    const rs = rounds.get(name)!;
    return {
      rtt: medianSummary(rs.map((x) => x.rtt)),
      tput: Math.round(median(rs.map((x) => x.tput))),
      cpu: round(median(rs.map((x) => x.cpuPerCall))),
      msgs: round(median(rs.map((x) => x.msgsPerCall)), 2),
      chain: medianSummary(rs.map((x) => x.chain), 2),
      directChain: rs[0]?.directChain && medianSummary(rs.map((x) => x.directChain!), 2),
    };
  };
  const raw = fig('raw_nats');
  const mol10 = fig('moleculer');
  const wf = fig('wfmesh');
  // The same ratios taken round by round: in every round Moleculer and wfmesh are measured one
  // right after the other, so a machine that slows down or speeds up between rounds moves both.
  const molRounds = rounds.get('moleculer')!;
  const byRound = (f: (wf: Round, mol: Round) => number) => rounds.get('wfmesh')!.map((r, i) => round(f(r, molRounds[i]!), 2));
  const paired = {
    rtt: byRound((w, m) => w.rtt.p50 / m.rtt.p50),
    throughput: byRound((w, m) => w.tput / m.tput),
    chain10: byRound((w, m) => w.chain.p50 / m.chain.p50),
    direct_chain10: byRound((w, m) => (w.directChain?.p50 ?? Number.NaN) / m.chain.p50),
  };
  return {
    raw_nats_rtt_us: raw.rtt,
    raw_nats_throughput_per_s: raw.tput,
    raw_nats_chain10_ms: raw.chain,
    remote_step_rtt_us: wf.rtt,
    remote_step_overhead_ratio: round(wf.rtt.p50 / raw.rtt.p50, 2),
    wfmesh_throughput_per_s: wf.tput,
    wfmesh_chain10_ms: wf.chain,
    moleculer_rtt_us: mol10.rtt,
    moleculer_throughput_per_s: mol10.tput,
    moleculer_chain10_ms: mol10.chain,
    wfmesh_over_moleculer_rtt: round(wf.rtt.p50 / mol10.rtt.p50, 2),
    wfmesh_over_moleculer_throughput: round(wf.tput / mol10.tput, 2),
    wfmesh_over_moleculer_chain10: round(wf.chain.p50 / mol10.chain.p50, 2),
    // The same ten steps as ten dispatcher calls without the engine: the chain's split.
    wfmesh_direct_chain10_ms: wf.directChain,
    wfmesh_direct_over_moleculer_chain10: wf.directChain && round(wf.directChain.p50 / mol10.chain.p50, 2),
    cpu_per_call_us: { raw_nats: raw.cpu, moleculer: mol10.cpu, wfmesh: wf.cpu },
    // wfmesh joins the step requests (and replies) made in one turn to one node into one message.
    nats_msgs_per_call_at_64: { raw_nats: raw.msgs, moleculer: mol10.msgs, wfmesh: wf.msgs },
    // Each round's ratio and their median (the ratios above divide medians taken over all rounds).
    wfmesh_over_moleculer_by_round: Object.fromEntries(Object.entries(paired).map(([k, v]) => [k, { median: round(median(v), 2), rounds: v }])),
  };
}
