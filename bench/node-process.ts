import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/wfmesh.js', import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  /** Epoch ms at which the node announced itself to the mesh (its first heartbeat). */
  joinedAt: number;
  rssMib(): number;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `wfmesh node` from the build (dist/) and waits for it to join. */
export async function startNodeProcess(args: string[]): Promise<NodeProcess> {
  const child = spawn(process.execPath, [BIN, 'node', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WFMESH_LOG_LEVEL: 'info' },
  });
  const joinedAt = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (!buf.includes('node joined the mesh')) return;
      const announced = buf.split('\n').find((line) => line.includes('announced to the mesh'));
      child.stderr!.off('data', onData);
      child.stderr!.resume();
      resolve((JSON.parse(announced ?? '{"time":0}') as { time: number }).time);
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`node exited with ${code}: ${buf}`)));
  });
  return {
    child,
    joinedAt,
    rssMib: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round(kb / 1024);
    },
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
  };
}
