/**
 * Real child processes for tests: the wfmesh CLI from source (through tsx) or any command (a built
 * binary), with output collected, exits awaited, and everything killed by PID when the tests end
 * (resumed first, in case a test froze it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
// Absolute, so that a child started in another folder (a tmp dir) still finds the loader.
const TSX = import.meta.resolve('tsx');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once the process exited and its output is complete. */
  readonly exited: Promise<Exit>;
  /** Resolves once `text` appears on stdout or stderr; rejects if the process exits first. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  stop(graceMs?: number): Promise<Exit>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) {
    try {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/**
 * Starts `command args`. The environment is the runner's, with WFMESH_LOG_LEVEL=info (tests read
 * log lines), then `opts.env`; a value of undefined removes that variable (a NATS_TOKEN the runner has).
 */
export function startProcess(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const env = Object.fromEntries(Object.entries({ ...process.env, WFMESH_LOG_LEVEL: 'info', ...opts.env }).filter(([, v]) => v !== undefined));
  const child = spawn(command, args, { cwd: opts.cwd ?? repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    changed();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    changed();
  });
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      done = true;
      resolve({ code, signal });
      changed();
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
    stop: async (graceMs = 10_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    waitFor(text, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const matches = () => (typeof text === 'string' ? (out + err).includes(text) : text.test(out + err));
        const finish = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${String(text)}; output so far:\n${out}\n${err}`)), timeoutMs);
        function check() {
          if (matches()) finish();
          else if (done) finish(new Error(`process exited before ${String(text)}; output:\n${out}\n${err}`));
        }
        listeners.add(check);
        check();
      });
    },
  };
}

/** `wfmesh ARGS` from the TypeScript sources, as a user would run it, without a build. */
export function spawnCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliProcess {
  return startProcess(process.execPath, ['--import', TSX, CLI, ...args], opts);
}

/** Runs a process to its end (killed after `killAfterMs`, which a test then reports as a hang). */
export async function runToEnd(proc: CliProcess, killAfterMs = 60_000): Promise<Exit & { stdout: string; stderr: string; killed: boolean }> {
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill('SIGKILL');
  }, killAfterMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { ...exit, stdout: proc.stdout(), stderr: proc.stderr(), killed };
}

/** Polls `check` every 25 ms until it returns a value other than undefined; rejects after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/** waitFor for a condition: resolves once `predicate` holds. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(what, async () => ((await predicate()) ? true : undefined), timeoutMs);
}
