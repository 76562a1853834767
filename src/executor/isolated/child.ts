import { spawn, type ChildProcess } from 'node:child_process';
import { StepFailure } from '../../protocol/errors.js';
import { failureFromAbort } from '../failures.js';
import { WorkerToParentSchema, type WorkerRun } from './protocol.js';

/** How to start a worker process: a program and its arguments (the script or `__step-worker`). */
export interface WorkerCommand {
  readonly command: string;
  readonly args: readonly string[];
}

export interface SpawnOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly memoryMib: number;
}

const STDERR_TAIL_BYTES = 8192;

/**
 * One isolated step process, started ahead of its task (a spare) or on demand. It runs exactly
 * one task; afterwards, or on abort, the whole process group is SIGKILLed so that anything the
 * step started goes too.
 */
export class WorkerProcess {
  private readonly child: ChildProcess;
  private stderrTail = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;
  private readonly closed: Promise<void>;
  private onMessage: ((msg: unknown) => void) | undefined;
  private ran = false;
  private killReason: StepFailure | undefined;

  constructor(
    private readonly cmd: WorkerCommand,
    private readonly opts: SpawnOptions,
  ) {
    this.child = spawn(cmd.command, [...cmd.args], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: opts.env,
      detached: true, // own process group: one kill takes the step's own children too
      serialization: 'json',
      windowsHide: true,
    });
    this.child.stdout?.resume(); // a step has no business on stdout; drain it so it never blocks
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    this.child.on('message', (msg: unknown) => this.onMessage?.(msg));
    this.child.on('error', (err) => {
      this.spawnError = err;
    });
    this.child.on('exit', (code, signal) => {
      this.killGroup(); // grandchildren may still hold the pipes open
      this.exitInfo = { code, signal };
    });
    this.closed = new Promise((resolve) => this.child.on('close', () => resolve()));
    this.setRef(false);
  }

  /** Whether this process can still take its task. */
  get usable(): boolean {
    return !this.ran && !this.exitInfo && !this.spawnError && this.child.connected;
  }

  /** Sends the task and settles with its output, or a StepFailure (abort, crash, exit, OOM). */
  run(message: WorkerRun, signal: AbortSignal): Promise<unknown> {
    this.ran = true;
    this.setRef(true);
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        this.onMessage = undefined;
        this.killGroup();
        this.setRef(false);
        fn();
      };
      const onAbort = (): void => settle(() => reject(failureFromAbort(signal)));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });

      this.onMessage = (raw) => {
        const parsed = WorkerToParentSchema.safeParse(raw);
        if (!parsed.success) return settle(() => reject(new StepFailure('internal', 'step worker sent a malformed message')));
        const msg = parsed.data;
        if (msg.type !== 'wfmesh.worker.result.v1') return;
        if (msg.ok) settle(() => resolve(msg.output ?? null));
        else settle(() => reject(StepFailure.fromWire(msg.failure)));
      };
      void this.closed.then(() => settle(() => reject(this.deathFailure())));
      this.child.send(message, (err) => {
        if (err) void this.closed.then(() => settle(() => reject(this.deathFailure())));
      });
    });
  }

  /** Kills the process group now (idempotent); a running task fails with `reason`. */
  kill(reason?: StepFailure): void {
    this.killReason ??= reason;
    this.killGroup();
  }

  /** Resolves once the process is gone and its pipes are closed. */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  private killGroup(): void {
    const pid = this.child.pid;
    // Once the leader is reaped its pid may be reused: the group is killed for the last time on exit.
    if (pid === undefined || this.exitInfo) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** A spare or a finished worker must not keep the node's event loop alive. */
  private setRef(on: boolean): void {
    const c = this.child as ChildProcess & { channel?: { ref(): void; unref(): void } | null };
    const handles = [c, c.channel, c.stdout, c.stderr] as ({ ref?(): unknown; unref?(): unknown } | null | undefined)[];
    for (const h of handles) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }

  /** Why the process died before answering, in words an operator can act on. */
  private deathFailure(): StepFailure {
    if (this.killReason) return this.killReason;
    if (this.spawnError) {
      return new StepFailure('internal', `cannot start the isolated step worker (${this.cmd.command}): ${this.spawnError.message}`);
    }
    const { code, signal } = this.exitInfo ?? { code: null, signal: null };
    const detail = lastErrorLine(this.stderrTail);
    if (/heap out of memory|Reached heap limit|Allocation failed/i.test(this.stderrTail)) {
      return new StepFailure('crashed', `step process ran out of memory (heap limit ${this.opts.memoryMib} MiB) and was killed`);
    }
    const how = signal ? `was killed by signal ${signal}` : `exited with code ${code ?? 'unknown'}`;
    return new StepFailure('crashed', `step process ${how} before finishing the step${detail ? `: ${detail}` : ''}`);
  }
}

/** The most telling line of a dead process's stderr: its error line, else its last line. */
function lastErrorLine(stderr: string): string {
  // Skip stack frames (JS and native) and banners: what is left says what went wrong.
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(at |Node\.js v|-{3,}|\d+: |\^+$)/.test(l));
  const err = lines.find((l) => /^(\w*Error|Uncaught|FATAL)\b/.test(l));
  const line = err ?? lines.at(-1) ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
