import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processRssMib } from './proc.js';

const BIN = fileURLToPath(new URL('../bin/wfmesh.js', import.meta.url));
const logDir = mkdtempSync(join(tmpdir(), 'wfmesh-bench-logs-'));

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  /** Epoch ms at which the node announced itself to the mesh (its first heartbeat). */
  joinedAt: number;
  /** The node's HTTP endpoint (/healthz, /metrics), from its "node joined the mesh" line. */
  httpUrl: string | undefined;
  /** The node's log so far (stderr goes to a file, as a deployed node's would, not through a pipe to the bench). */
  log(): string;
  rssMib(): number;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `wfmesh node` from the build (dist/) and waits for it to join. `nodeArgs` go to `node`
 * itself (e.g. `--import` of a bench probe).
 */
export async function startNodeProcess(args: string[], nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<NodeProcess> {
  // Readiness is read from the node's info lines: a higher level would leave this waiting forever.
  if (env.WFMESH_LOG_LEVEL !== undefined && !['trace', 'debug', 'info'].includes(env.WFMESH_LOG_LEVEL)) {
    throw new Error(`WFMESH_LOG_LEVEL=${env.WFMESH_LOG_LEVEL}: a bench node logs at info at least (its start is read from its "node joined the mesh" line)`);
  }
  const logFile = join(logDir, `${args[args.indexOf('--name') + 1] ?? 'node'}-${Date.now()}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'node', ...args], {
    stdio: ['ignore', 'ignore', fd],
    env: { ...process.env, WFMESH_LOG_LEVEL: 'info', WFMESH_LOG_FORMAT: 'json', ...env },
  });
  closeSync(fd);
  const log = () => readFileSync(logFile, 'utf8');
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (;;) {
    if (exited !== undefined) throw new Error(`node exited with ${exited}: ${log()}`);
    const text = log();
    if (text.includes('node joined the mesh')) {
      const announced = text.split('\n').find((line) => line.includes('announced to the mesh'));
      const joinedAt = (JSON.parse(announced ?? '{"time":0}') as { time: number }).time;
      const joined = text.split('\n').find((line) => line.includes('node joined the mesh'));
      const httpUrl = (JSON.parse(joined ?? '{}') as { http?: string }).http;
      return {
        child,
        pid: child.pid!,
        joinedAt,
        httpUrl,
        log,
        rssMib: () => Math.round(processRssMib(child.pid!)),
        kill: (signal = 'SIGKILL') => {
          child.kill(signal);
        },
      };
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
