/**
 * What a process costs when nothing happens, and whether memory stays put under load:
 * idle RSS and CPU of a fresh wfmesh node next to a fresh Moleculer worker over the same window,
 * the event-loop delay of both (perf_hooks.monitorEventLoopDelay, preloaded), and a worker node's
 * RSS before and after many steps.
 */
import { fileURLToPath } from 'node:url';
import { MeshStepRunner } from '../src/dispatch/index.js';
import { silentLogger } from '../src/log/index.js';
import type { MeshNode } from '../src/node/index.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';
import { cpuMeter, processRssMib } from './proc.js';
import { measureThroughput } from './raw-nats.js';
import { round } from './stats.js';
import { echoCall } from './steps.js';
import { startMoleculerWorker } from './versus.js';

const ELD_PROBE = fileURLToPath(new URL('./eld-probe.mjs', import.meta.url));

interface Eld {
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

/** Sends SIGUSR2 and waits for the probe's next `eld` line in `read()`. */
async function readEld(pid: number, read: () => string): Promise<Eld> {
  const seen = (read().match(/^eld /gm) ?? []).length;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 400; i++) {
    const lines = read().split('\n').filter((l) => l.startsWith('eld '));
    if (lines.length > seen) return JSON.parse(lines[lines.length - 1]!.slice(4)) as Eld;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`process ${pid} printed no event-loop figures`);
}

/**
 * An idle wfmesh node (`wfmesh node --no-mcp`) and an idle Moleculer worker, started fresh, side by
 * side over `windowMs`; node_rss_mib is the node's RSS at the end of that window.
 */
export async function measureIdle(url: string, windowMs: number): Promise<Record<string, unknown>> {
  const node = await startNodeProcess(['--nats', url, '--name', 'bench-idle', '--no-mcp'], ['--import', ELD_PROBE]);
  const mol = await startMoleculerWorker(url, 'bench-mol-idle', ['--import', ELD_PROBE]);
  let molErr = '';
  mol.stderr!.on('data', (d: Buffer) => (molErr += d.toString()));
  try {
    // Past start-up (probes, first heartbeats, JIT) and the node's one collection after it (10 s).
    await new Promise((r) => setTimeout(r, 12_000));
    await readEld(node.pid, node.log);
    await readEld(mol.pid!, () => molErr);
    const nodeCpu = cpuMeter([node.pid]);
    const molCpu = cpuMeter([mol.pid!]);
    await new Promise((r) => setTimeout(r, windowMs));
    const cpuPct = (us: number) => round((us / (windowMs * 1000)) * 100, 2);
    const idleNodeCpu = cpuPct(nodeCpu.stop());
    const idleMolCpu = cpuPct(molCpu.stop());
    const [nodeEld, molEld] = [await readEld(node.pid, node.log), await readEld(mol.pid!, () => molErr)];
    const nodeRss = round(processRssMib(node.pid));
    return {
      node_rss_mib: nodeRss,
      idle_window_s: windowMs / 1000,
      idle_node: { rss_mib: nodeRss, cpu_pct: idleNodeCpu, event_loop_stall_ms: { p99: nodeEld.p99_ms, max: nodeEld.max_ms } },
      idle_moleculer: { rss_mib: round(processRssMib(mol.pid!)), cpu_pct: idleMolCpu, event_loop_stall_ms: { p99: molEld.p99_ms, max: molEld.max_ms } },
    };
  } finally {
    node.kill('SIGKILL');
    mol.kill('SIGKILL');
  }
}

/** A worker node's RSS before and after `steps` echo steps (64 in flight): flat means no leak. */
export async function measureRssUnderSteps(observer: MeshNode, worker: NodeProcess & { name: string }, steps: number): Promise<Record<string, unknown>> {
  const runner = new MeshStepRunner({ nc: observer.nc, registry: observer.registry, origin: observer.name, log: silentLogger() });
  const never = new AbortController().signal;
  const pinned = { node: worker.name };
  const warm = Math.min(10_000, steps / 5);
  await measureThroughput(() => runner.run(echoCall(pinned), never), warm, 64); // settle the heap first
  const before = processRssMib(worker.pid);
  await measureThroughput(() => runner.run(echoCall(pinned), never), steps / 2, 64);
  const half = processRssMib(worker.pid);
  await measureThroughput(() => runner.run(echoCall(pinned), never), steps / 2, 64);
  const after = processRssMib(worker.pid);
  return { node_rss_under_steps_mib: { steps, before, half: half, after, growth: round(after - before) } };
}
