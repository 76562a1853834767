/**
 * What a process costs when nothing happens, and whether memory stays put under load:
 * idle RSS and CPU of a fresh wfmesh node next to a fresh Moleculer worker over the same window,
 * the event-loop delay of both (perf_hooks.monitorEventLoopDelay, preloaded), and a worker node's
 * RSS before and after many steps.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MeshStepRunner } from '../src/dispatch/index.js';
import { silentLogger } from '../src/log/index.js';
import type { MeshNode } from '../src/node/index.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';
import { processRssMib, runMeter, type Wakes } from './proc.js';
import { measureThroughput } from './raw-nats.js';
import { round } from './stats.js';
import { echoCall } from './steps.js';
import { startMoleculerWorker } from './versus.js';

const ELD_PROBE = fileURLToPath(new URL('./eld-probe.mjs', import.meta.url));

/** A Moleculer mesh that notices a dead node as fast as wfmesh does (see measureIdle). */
const MOLECULER_SAME_DETECTION = { MOL_NAMESPACE: 'bench-1s', MOL_HEARTBEAT_S: '1', MOL_HEARTBEAT_TIMEOUT_S: '2.5' };

interface Eld {
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  /** Stalls over 20 ms: when (seconds since the process started) and how long. */
  long: { at_s: number; ms: number }[];
}

/**
 * Sends SIGUSR2 to a process that preloads a bench probe (eld-probe.mjs, heap-probe.mjs) and
 * returns the JSON of the next line starting `<prefix> ` that the probe prints in `read()`.
 */
async function askProbe<T>(pid: number, read: () => string, prefix: string): Promise<T> {
  const lines = () => read().split('\n').filter((l) => l.startsWith(`${prefix} `));
  const seen = lines().length;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 400; i++) {
    const now = lines();
    if (now.length > seen) return JSON.parse(now[now.length - 1]!.slice(prefix.length + 1)) as T;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`process ${pid} printed no "${prefix}" figures (is its probe preloaded?)`);
}

const readEld = (pid: number, read: () => string) => askProbe<Eld>(pid, read, 'eld');

type RunFigures = ReturnType<ReturnType<typeof runMeter>['stop']>;
const wakesOf = ({ wakes_per_s, cpu_us_per_wake }: RunFigures): Wakes => ({ wakes_per_s, cpu_us_per_wake });

/**
 * An idle wfmesh node (`wfmesh node --no-mcp`) and an idle Moleculer worker, started fresh, side by
 * side, twice over `windowMs`: first plain, for CPU and RSS (node_rss_mib is the node's RSS at the
 * end of that window); then with the event-loop delay probe preloaded, for the stalls. The probe
 * wakes its process every 10 ms, which costs about 1% of a core by itself: more than either
 * process idles on, so it stays out of the CPU window.
 *
 * Idle CPU is mostly failure detection: Moleculer's defaults notice a dead peer within 30 s (a
 * heartbeat every 10 s); a wfmesh node within about 3 s while the mesh has work (SWIM probes twice
 * a second) and within about 4 s in an idle mesh, which is what this measures: the caller waits
 * until nothing has run for the activity linger. Idle, one node (the watcher, first by name:
 * `bench-0-watcher`, a process of its own so that its cost shows as `idle_watcher`) reads the
 * servers' connection lists every 2 s for killed nodes, and the others, the idle node among them,
 * probe their ring successors every 20 s for frozen ones (docs/membership.md). The plain window
 * also measures a Moleculer worker in a mesh of its own (a namespace) of `meshSize` workers that
 * all heartbeat every second and drop a peer after 2.5 s silent: a wfmesh mesh's busy-rate
 * detection time, with the same number of nodes as the wfmesh mesh around the idle node.
 *
 * CPU, wake-ups per second and CPU per wake-up over the same window (`cpu_pct`, `wakes_per_s`,
 * `cpu_us_per_wake`) come from the kernel's scheduler counts of all its threads (ns; clock ticks of
 * 10 ms are too coarse for a process that runs 0.3 ms at a time: see runMeter). Wakes and their
 * cost tell the two causes of idle CPU apart: how often a process wakes (its failure detection's
 * rate) and what each wake costs.
 */
export async function measureIdle(url: string, windowMs: number, meshSize: number): Promise<Record<string, unknown>> {
  const cpuPct = (us: number) => round((us / (windowMs * 1000)) * 100, 3);
  // Past start-up (probes, first heartbeats, JIT) and V8's memory reducer, which releases what
  // start-up used in both processes with a few full collections 8 s, or 16 s, after they start.
  const settle = () => new Promise((r) => setTimeout(r, 20_000));
  const plain = await startPair(url, 'bench-idle', 'bench-mol-idle', []);
  // First by name: the mesh's connection watcher, in a process of its own so that its cost shows.
  const watcher = await startNodeProcess(['--nats', url, '--name', 'bench-0-watcher', '--no-mcp'], []);
  const sameDetection: ChildProcess[] = [];
  let cpu: {
    node: number;
    mol: number;
    mol1s: number;
    watcher: number;
    nodeRss: number;
    molRss: number;
    mol1sRss: number;
    wakes: { node: Wakes; mol: Wakes; mol1s: Wakes; watcher: Wakes };
    views: { node: MeshViewFigures; watcher: MeshViewFigures };
  };
  try {
    for (let i = 0; i < meshSize; i++) sameDetection.push(await startMoleculerWorker(url, `bench-mol-1s-${i}`, [], MOLECULER_SAME_DETECTION));
    const mol1s = sameDetection[0]!;
    await settle();
    const meters = [runMeter(plain.node.pid), runMeter(plain.mol.pid!), runMeter(mol1s.pid!), runMeter(watcher.pid)] as const;
    await new Promise((r) => setTimeout(r, windowMs));
    const [node, mol, mol1sRun, watcherRun] = meters.map((m) => m.stop()) as [RunFigures, RunFigures, RunFigures, RunFigures];
    cpu = {
      node: cpuPct(node.cpu_us),
      mol: cpuPct(mol.cpu_us),
      mol1s: cpuPct(mol1sRun.cpu_us),
      watcher: cpuPct(watcherRun.cpu_us),
      nodeRss: round(processRssMib(plain.node.pid)),
      molRss: round(processRssMib(plain.mol.pid!)),
      mol1sRss: round(processRssMib(mol1s.pid!)),
      wakes: { node: wakesOf(node), mol: wakesOf(mol), mol1s: wakesOf(mol1sRun), watcher: wakesOf(watcherRun) },
      views: { node: await meshViewOf(plain.node), watcher: await meshViewOf(watcher) },
    };
  } finally {
    plain.stop();
    watcher.kill('SIGKILL');
    for (const w of sameDetection) w.kill('SIGKILL');
  }
  const probed = await startPair(url, 'bench-idle-eld', 'bench-mol-idle-eld', ['--import', ELD_PROBE]);
  try {
    await settle();
    await readEld(probed.node.pid, probed.node.log);
    await readEld(probed.mol.pid!, probed.molErr);
    await new Promise((r) => setTimeout(r, windowMs));
    const [nodeEld, molEld] = [await readEld(probed.node.pid, probed.node.log), await readEld(probed.mol.pid!, probed.molErr)];
    return {
      node_rss_mib: cpu.nodeRss,
      idle_window_s: windowMs / 1000,
      idle_node: { rss_mib: cpu.nodeRss, cpu_pct: cpu.node, ...cpu.wakes.node, ...cpu.views.node, event_loop_stall_ms: { p99: nodeEld.p99_ms, max: nodeEld.max_ms, over_5ms: nodeEld.long } },
      idle_moleculer: { rss_mib: cpu.molRss, cpu_pct: cpu.mol, ...cpu.wakes.mol, event_loop_stall_ms: { p99: molEld.p99_ms, max: molEld.max_ms, over_5ms: molEld.long } },
      idle_watcher: { cpu_pct: cpu.watcher, ...cpu.wakes.watcher, ...cpu.views.watcher, mesh_nodes: meshSize },
      idle_moleculer_same_detection: { rss_mib: cpu.mol1sRss, cpu_pct: cpu.mol1s, ...cpu.wakes.mol1s, mesh_nodes: meshSize, heartbeat_s: 1, dead_after_s: 2.5 },
    };
  } finally {
    probed.stop();
  }
}

/** What a node sees at the end of an idle window: how many nodes, and whether it reads the connection lists for the mesh. */
interface MeshViewFigures {
  sees_nodes?: number;
  reads_connection_lists?: boolean;
  sees_work?: boolean;
}

/**
 * A node's view, from its /metrics: an idle node that wakes like the watcher (about four times a
 * second) shows here whether it believed it was the watcher, from how many nodes it chose, and
 * whether it saw work in the mesh (probes at the busy rate wake it as often).
 */
async function meshViewOf(node: NodeProcess): Promise<MeshViewFigures> {
  if (!node.httpUrl) return {};
  try {
    const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    return { sees_nodes: gauge('wfmesh_peers'), reads_connection_lists: gauge('wfmesh_connection_watcher') === 1, sees_work: gauge('wfmesh_mesh_busy') === 1 };
  } catch {
    return {};
  }
}

/** A fresh wfmesh node and a fresh Moleculer worker, both started with `nodeArgs`. */
async function startPair(url: string, nodeName: string, molName: string, nodeArgs: string[]) {
  const node = await startNodeProcess(['--nats', url, '--name', nodeName, '--no-mcp'], nodeArgs);
  const mol = await startMoleculerWorker(url, molName, nodeArgs);
  let molLog = '';
  mol.stderr!.on('data', (d: Buffer) => (molLog += d.toString()));
  return {
    node,
    mol,
    molErr: () => molLog,
    stop: () => {
      node.kill('SIGKILL');
      mol.kill('SIGKILL');
    },
  };
}

/**
 * A worker node's RSS before and after `steps` echo steps (64 in flight), and its live heap after a
 * full collection at both points (the worker runs bench/heap-probe.mjs): flat live heap means no
 * leak. RSS grows on its own under load: V8 grows the young generation towards its cap (32 MiB of
 * semi-spaces) as objects survive scavenges, and old-space garbage waits for the next mark-compact.
 * With `longRunSteps`, the worker goes on for that many more steps and its RSS is taken after every
 * `steps` of them: where the rise ends (`second_half_growth`: over the long run's second half).
 */
export async function measureRssUnderSteps(observer: MeshNode, worker: NodeProcess & { name: string }, steps: number, longRunSteps = 0): Promise<Record<string, unknown>> {
  const runner = new MeshStepRunner({ nc: observer.nc, registry: observer.registry, origin: observer.name, log: silentLogger() });
  const never = new AbortController().signal;
  const pinned = { node: worker.name };
  const warm = Math.min(10_000, steps / 5);
  await measureThroughput(() => runner.run(echoCall(pinned), never), warm, 64); // settle the heap first
  const before = processRssMib(worker.pid);
  const heapBefore = await liveHeapMib(worker);
  await measureThroughput(() => runner.run(echoCall(pinned), never), steps / 2, 64);
  const half = processRssMib(worker.pid);
  await measureThroughput(() => runner.run(echoCall(pinned), never), steps / 2, 64);
  const after = processRssMib(worker.pid);
  const heapAfter = await liveHeapMib(worker);
  // Where the rise ends: the same worker on for `longRunSteps` more, its RSS after every `steps`.
  const longRun = [after];
  for (let done = 0; done < longRunSteps; done += steps) {
    await measureThroughput(() => runner.run(echoCall(pinned), never), steps, 64);
    longRun.push(processRssMib(worker.pid));
  }
  const secondHalf = longRun.slice(Math.floor(longRun.length / 2));
  return {
    node_rss_under_steps_mib: { steps, before, half: half, after, growth: round(after - before) },
    node_live_heap_under_steps_mib: { steps, before: heapBefore, after: heapAfter, growth: round(heapAfter - heapBefore) },
    ...(longRunSteps > 0 && {
      node_rss_long_run_mib: { steps_between: steps, rss: longRun, growth: round((longRun.at(-1) as number) - after), second_half_growth: round((secondHalf.at(-1) as number) - (secondHalf[0] as number)) },
    }),
  };
}

/** The worker's live heap after a full collection (bench/heap-probe.mjs). */
async function liveHeapMib(worker: NodeProcess): Promise<number> {
  return (await askProbe<{ live_heap_mib: number }>(worker.pid, worker.log, 'heap')).live_heap_mib;
}
