import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StepFailure } from '../../protocol/errors.js';
import type { StepTask } from '../../protocol/step.js';
import { BUILTIN_TOOL_TYPES } from '../builtin.js';
import { offeredTools } from '../local.js';
import { throwIfAborted } from '../failures.js';
import { isInsideDir } from '../tools/filesystem-root.js';
import type { ExecutorEnvironment, StepExecutor } from '../types.js';
import { WorkerProcess, type WorkerCommand } from './child.js';
import type { WorkerRun } from './protocol.js';

export type { WorkerCommand } from './child.js';

export interface IsolatedExecutorOptions {
  /** Subset of tool types to offer (as for createStepExecutor). */
  readonly tools?: readonly string[];
  /** V8 heap cap of each step process, in MiB (default 512). */
  readonly memory_mib?: number;
  /** Extra environment for the step processes (on top of this process's environment). */
  readonly worker_env?: Readonly<Record<string, string>>;
  /**
   * Slim processes kept started ahead, so a step does not wait for Node and its modules to load
   * (default 1; `false` or 0: start each on demand). Each still runs exactly one step.
   */
  readonly prewarm?: boolean | number;
}

export type IsolatedExecutor = StepExecutor & { close(): Promise<void> };

const DEFAULT_MEMORY_MIB = 512;
let commandOverride: WorkerCommand | undefined;

/**
 * How to start a step process when this code does not run from its own files (a single-file
 * bundle or binary): e.g. `{ command: process.execPath, args: ['__step-worker'] }`. The command
 * must run the `__step-worker` loop; the heap cap then travels in NODE_OPTIONS.
 */
export function setIsolatedWorkerCommand(cmd: WorkerCommand | undefined): void {
  commandOverride = cmd ? { command: cmd.command, args: [...cmd.args] } : undefined;
}

/** Flags that make this Node run TypeScript (tsx's --import/--require hooks), for a .ts worker. */
function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const a = execArgv[i] ?? '';
    if (/^--(import|require|loader|experimental-loader)=/.test(a)) out.push(a);
    else if (/^(--import|--require|-r|--loader|--experimental-loader)$/.test(a) && execArgv[i + 1]) {
      out.push(a, execArgv[i + 1] ?? '');
      i += 1;
    } else if (/^--(enable-source-maps|conditions=)/.test(a)) out.push(a);
  }
  return out;
}

/** The command for a worker of `kind`, with its heap cap applied. */
function workerCommand(kind: 'core' | 'full', memoryMib: number, env: NodeJS.ProcessEnv, writableRoot?: string): { cmd: WorkerCommand; env: NodeJS.ProcessEnv } {
  const heap = `--max-old-space-size=${memoryMib}`;
  if (commandOverride) {
    const nodeOptions = [env.NODE_OPTIONS, heap].filter(Boolean).join(' ');
    return { cmd: commandOverride, env: { ...env, NODE_OPTIONS: nodeOptions } };
  }
  // A CommonJS bundle has no import.meta.url: it must say how to start itself.
  const here = (import.meta as { url?: string }).url;
  if (!here) {
    throw new StepFailure('internal', 'isolated steps: no worker command: a bundled build must call setIsolatedWorkerCommand()', false);
  }
  const ts = here.endsWith('.ts');
  const script = fileURLToPath(new URL(`./worker-${kind}${ts ? '.ts' : '.js'}`, here));
  // Workers load from the program, never from where steps may write (start-up refuses such a
  // root already; this holds even for an executor built by hand).
  if (writableRoot !== undefined && isInsideDir(resolve(writableRoot), script)) {
    throw new StepFailure('denied', `isolated steps: the worker ${script} lies inside the filesystem root ${writableRoot}, which steps may write: refused`, false);
  }
  return { cmd: { command: process.execPath, args: [...(ts ? loaderFlags(process.execArgv) : []), heap, script] }, env };
}

/** Agent steps and mcpremote need the heavy modules; every other tool runs in a slim worker. */
function kindOf(task: StepTask): 'core' | 'full' {
  return task.kind === 'agent' || task.tool_type === 'mcpremote' ? 'full' : 'core';
}

/**
 * Runs every task in a fresh child process (one process per task, never reused). A crash,
 * `process.exit`, an endless loop or runaway memory fails that step as `crashed` (with the exit
 * code, signal or "out of memory"); timeout and cancel SIGKILL the process group. The node keeps
 * serving. `close()` kills every step process.
 */
export function createIsolatedExecutor(env: ExecutorEnvironment, opts: IsolatedExecutorOptions = {}): IsolatedExecutor {
  const tools = offeredTools(env, BUILTIN_TOOL_TYPES, opts.tools);
  const memoryMib = opts.memory_mib ?? DEFAULT_MEMORY_MIB;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...opts.worker_env };
  const faults = childEnv.WFMESH_TEST_FAULTS === '1';
  const spareTarget = opts.prewarm === false ? 0 : opts.prewarm === true || opts.prewarm === undefined ? 1 : Math.max(0, Math.floor(opts.prewarm));
  const live = new Set<WorkerProcess>();
  let spares: WorkerProcess[] = [];
  let state: 'RUNNING' | 'STOPPED' = 'RUNNING';

  const start = (kind: 'core' | 'full'): WorkerProcess => {
    const { cmd, env: procEnv } = workerCommand(kind, memoryMib, childEnv, env.allow.filesystem_root);
    const w = new WorkerProcess(cmd, { env: procEnv, memoryMib });
    live.add(w);
    void w.whenClosed().then(() => {
      live.delete(w);
      spares = spares.filter((s) => s !== w);
    });
    return w;
  };
  const refill = (): void => {
    spares = spares.filter((s) => s.usable);
    try {
      while (state === 'RUNNING' && spares.length < spareTarget) spares.push(start('core'));
    } catch {
      // a worker that cannot start is reported by the next execute
    }
  };
  const take = (kind: 'core' | 'full'): WorkerProcess => {
    const ready = kind === 'core' ? spares.find((s) => s.usable) : undefined;
    if (ready) {
      spares = spares.filter((s) => s !== ready);
      setImmediate(refill);
      return ready;
    }
    const w = start(kind);
    if (kind === 'core') setImmediate(refill);
    return w;
  };
  const killAll = (): void => {
    const reason = new StepFailure('cancelled', 'the isolated executor was closed while the step ran');
    for (const w of live) w.kill(reason);
  };
  process.on('exit', killAll);

  return {
    tools,
    async execute(task: StepTask, signal: AbortSignal): Promise<unknown> {
      if (state !== 'RUNNING') throw new StepFailure('cancelled', 'the isolated executor is closed');
      throwIfAborted(signal);
      if (task.kind === 'tool' && !tools.includes(task.tool_type) && !(faults && task.tool_type === 'fault')) {
        const offered = tools.length ? tools.join(', ') : 'none';
        throw new StepFailure('unsupported', `node "${env.node_name}" does not offer tool type "${task.tool_type}" (it offers: ${offered})`);
      }
      const worker = take(kindOf(task));
      return worker.run({ type: 'wfmesh.worker.run.v1', task, env: plainEnv(env), tools: [...tools] }, signal);
    },
    async close(): Promise<void> {
      state = 'STOPPED';
      process.off('exit', killAll);
      const all = [...live];
      killAll();
      await Promise.all(all.map((w) => w.whenClosed()));
    },
  };
}

/** Only the fields the schema knows, as plain data (a config object may carry more). */
function plainEnv(env: ExecutorEnvironment): WorkerRun['env'] {
  return {
    node_name: env.node_name,
    allow: {
      ...(env.allow.filesystem_root !== undefined ? { filesystem_root: env.allow.filesystem_root } : {}),
      http_hosts: [...env.allow.http_hosts],
      shell_commands: [...env.allow.shell_commands],
      env_vars: [...env.allow.env_vars],
    },
    llm: {
      ...(env.llm.base_url !== undefined ? { base_url: env.llm.base_url } : {}),
      ...(env.llm.api_key !== undefined ? { api_key: env.llm.api_key } : {}),
      models: [...env.llm.models],
      timeout_ms: env.llm.timeout_ms,
    },
    max_output_bytes: env.max_output_bytes,
  };
}
