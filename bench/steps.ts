import { MeshStepRunner } from '../src/dispatch/index.js';
import { LocalStepRunner, runExecution, type StepCall } from '../src/engine/index.js';
import { createStepExecutor } from '../src/executor/index.js';
import { silentLogger } from '../src/log/index.js';
import { stepRunners, type MeshNode } from '../src/node/index.js';
import { loadWorkflowDocument } from '../src/workflow/index.js';
import { measureThroughput } from './raw-nats.js';
import { median, nowUs, round, summary } from './stats.js';

export interface StepBenchContext {
  observer: MeshNode;
  rounds: number;
  quick: boolean;
  say: (msg: string) => void;
  /** Figures measured so far (raw NATS, from the side-by-side rounds), for the ratios. */
  raw: Record<string, unknown>;
}

let seq = 0;
export function echoCall(requires?: StepCall['requires'], isolation: StepCall['isolation'] = 'in_process'): StepCall {
  seq++;
  return {
    execution_id: 'bench',
    step_id: `s${seq}`,
    attempt: 1,
    task: { kind: 'tool', tool_id: 'echo', tool_type: 'echo', args: { message: 'hello' } },
    ...(requires ? { requires } : {}),
    timeout_ms: 30_000,
    isolation,
  };
}

/** A chain of `n` echo steps, each passing the previous output on. */
export function echoChainYaml(n: number, requires?: string): string {
  const steps = Array.from({ length: n }, (_, i) => {
    const next = i + 1 < n ? `s${i + 2}` : 'user';
    const args = i === 0 ? '{message: "${user_input}"}' : `{message: "\${s${i}.output.message}"}`;
    const placed = requires ? `\n        requires: ${requires}` : '';
    return `      - id: s${i + 1}\n        tool: echo\n        args: ${args}${placed}\n        output: {to: ${next}}`;
  });
  return `tools:\n  - {id: echo, type: echo}\nworkflows:\n  chain:\n    steps:\n${steps.join('\n')}\n`;
}

/**
 * With the three worker node processes bench-w1..3 (role=worker) already in the mesh:
 * steps_throughput_per_s: echo steps over 3 node processes at concurrency 64;
 * workflow10_e2e_ms: a 10-step echo workflow through the engine in distributed mode (placement
 * free: the idle coordinator wins ties), and workflow10_remote_e2e_ms with every step pinned to
 * the worker processes;
 * isolated_step_start_ms: an echo step in a fresh child process on a remote node;
 * engine_echo_step_us: the in-process engine's cost per echo step (sync mode).
 */
export async function measureSteps(ctx: StepBenchContext): Promise<Record<string, unknown>> {
  const { observer, rounds, quick, say } = ctx;
  say('steps over the three worker nodes, 64 in flight...');
  // The coordinator only coordinates: workers are the three processes.
  const runner = new MeshStepRunner({ nc: observer.nc, registry: observer.registry, origin: observer.name, log: silentLogger() });
  const never = new AbortController().signal;
  const pinned = { node: 'bench-w2' }; // on the second server: one route away, as raw NATS was
  const workers = { labels: { role: 'worker' } };

  const tput: number[] = [];
  for (let r = 0; r < rounds; r++) tput.push(await measureThroughput(() => runner.run(echoCall(workers), never), quick ? 5_000 : 20_000, 64));
  const rawTput = ctx.raw.raw_nats_throughput_per_s as number;
  const stepsTput = Math.round(median(tput));

  say('workflow10 through the engine, distributed...');
  const doc = loadWorkflowDocument(echoChainYaml(10));
  // The coordinator's own distributed runner: placement may pick this node (no network hop).
  const nodeRunner = stepRunners(observer)('distributed');
  const timeWorkflow = async (document: typeof doc): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < (quick ? 30 : 200) + 5; i++) {
      const t0 = nowUs();
      const rec = await runExecution({ document, input: 'hi', runner: nodeRunner, mode: 'distributed', coordinator: observer.name });
      if (rec.status !== 'completed') throw new Error(`workflow10 ${rec.status}: ${JSON.stringify(rec.error)}`);
      if (i >= 5) samples.push((nowUs() - t0) / 1000);
    }
    return samples;
  };
  // Placement free to choose: an idle coordinator wins the ties and runs the steps itself.
  const wf = await timeWorkflow(doc);
  // Every step forced onto the worker processes: ten request-replies across the cluster.
  const wfRemote = await timeWorkflow(loadWorkflowDocument(echoChainYaml(10, '{labels: {role: worker}}')));

  say('isolated step start...');
  const iso: number[] = [];
  for (let i = 0; i < (quick ? 5 : 20) + 1; i++) {
    const t0 = nowUs();
    await runner.run(echoCall(pinned, 'child_process'), never);
    if (i >= 1) iso.push((nowUs() - t0) / 1000);
    await new Promise((r) => setTimeout(r, 150)); // let the node prewarm its next worker, as between real steps
  }

  say('engine cost per echo step (sync, in process)...');
  const env = { node_name: 'bench', allow: { filesystem_root: process.cwd(), http_hosts: [], shell_commands: [], env_vars: [] }, llm: { models: [], timeout_ms: 1_000 }, max_output_bytes: 1 << 20 };
  const local = new LocalStepRunner(createStepExecutor(env), 'bench');
  const chain100 = loadWorkflowDocument(echoChainYaml(100));
  // Warm first: the figure is the engine's cost per step, not V8's first compilations of it (the
  // median of fifteen cold runs moved between 11 and 37 µs from run to run).
  for (let r = 0; r < 20; r++) await runExecution({ document: chain100, input: 'hi', runner: local, mode: 'sync', coordinator: 'bench' });
  const engineRounds: number[] = [];
  for (let r = 0; r < rounds * 3; r++) {
    const t0 = nowUs();
    await runExecution({ document: chain100, input: 'hi', runner: local, mode: 'sync', coordinator: 'bench' });
    engineRounds.push((nowUs() - t0) / 100);
  }

  return {
    steps_throughput_per_s: stepsTput,
    throughput_ratio: round(stepsTput / rawTput, 2),
    workflow10_e2e_ms: summary(wf, 2),
    workflow10_remote_e2e_ms: summary(wfRemote, 2),
    isolated_step_start_ms: { p50: round(median(iso), 1) },
    engine_echo_step_us: round(median(engineRounds), 1),
  };
}
