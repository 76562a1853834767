/**
 * Many mesh nodes in a few child processes (mesh-host.ts), for the scale bench and the stall
 * test: start them, read their figures, freeze and thaw whole processes with SIGSTOP / SIGCONT.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface HostedNodeSpec {
  name: string;
  region: string;
  /** A full node (startNode: runs steps, coordinates executions) rather than a membership peer. */
  full: boolean;
}

export type HostRequest =
  | { cmd: 'start'; url: string; names: HostedNodeSpec[]; heartbeatMs: number; batch: number }
  | { cmd: 'stats'; about?: string }
  | { cmd: 'reset' }
  | { cmd: 'execute'; node: string; yaml: string; count: number }
  | { cmd: 'stop' };

export interface HostReply {
  seq: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface HostStats {
  nodes: number;
  /** The smallest and largest peer count among this process's nodes (themselves included). */
  minView: number;
  maxView: number;
  /** The node with the smallest view. */
  smallestView: string;
  rssMib: number;
  /** CPU time of the process since the last reset. */
  cpuMs: number;
  sinceMs: number;
  /** Peers this process's nodes declared dead since the last reset: name → how many nodes did. */
  deaths: Record<string, { count: number; firstAt: number }>;
  /** Suspicions open now, summed over this process's nodes. */
  suspected: number;
  /** With `about`: how many of this process's nodes (other than it) have that node in their view. */
  knowing?: number;
}

const HOST = fileURLToPath(new URL('./mesh-host.ts', import.meta.url));

export class MeshHost {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly nodes: HostedNodeSpec[] = [];
  frozen = false;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: HostReply) => {
      const w = this.waiting.get(m.seq);
      if (!w) return;
      this.waiting.delete(m.seq);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(m.error));
    });
    child.once('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`mesh host exited (${code})`));
      this.waiting.clear();
    });
  }

  static async spawn(): Promise<MeshHost> {
    const child = fork(HOST, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, WFMESH_LOG_LEVEL: 'silent' } });
    const host = new MeshHost(child);
    await new Promise<void>((resolve, reject) => {
      host.waiting.set(0, { resolve: () => resolve(), reject });
    });
    host.seq = 1;
    return host;
  }

  call<T>(req: HostRequest): Promise<T> {
    const seq = this.seq++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...req, seq });
    });
  }

  async start(url: string, nodes: HostedNodeSpec[], heartbeatMs: number, batch = 10): Promise<void> {
    this.nodes.push(...nodes);
    await this.call({ cmd: 'start', url, names: nodes, heartbeatMs, batch });
  }

  freeze(): void {
    this.frozen = true;
    this.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.frozen = false;
    this.child.kill('SIGCONT');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.thaw();
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Spreads `total` nodes over `hosts` processes in turn, the first `full` of them full nodes (so
 * each host gets its share of those),
 * over `regions` in turn; names are `${prefix}-0001`...
 */
export function planNodes(total: number, hosts: number, full: number, prefix: string, regions: readonly string[]): HostedNodeSpec[][] {
  const plan: HostedNodeSpec[][] = Array.from({ length: hosts }, () => []);
  for (let i = 0; i < total; i++) {
    const host = i % hosts;
    plan[host]!.push({ name: `${prefix}-${String(i).padStart(4, '0')}`, region: regions[i % regions.length]!, full: i < full });
  }
  return plan;
}

/** Sums the stats of hosts. */
export function sumStats(all: readonly HostStats[]): Omit<Required<HostStats>, 'sinceMs' | 'deaths'> & { deaths: Map<string, { count: number; firstAt: number }> } {
  const deaths = new Map<string, { count: number; firstAt: number }>();
  for (const s of all) {
    for (const [name, d] of Object.entries(s.deaths)) {
      const cur = deaths.get(name);
      deaths.set(name, cur ? { count: cur.count + d.count, firstAt: Math.min(cur.firstAt, d.firstAt) } : { ...d });
    }
  }
  return {
    nodes: all.reduce((n, s) => n + s.nodes, 0),
    minView: Math.min(...all.map((s) => s.minView)),
    smallestView: all.reduce((a, s) => (s.minView < a.minView ? s : a), all[0]!).smallestView,
    maxView: Math.max(...all.map((s) => s.maxView)),
    rssMib: all.reduce((n, s) => n + s.rssMib, 0),
    cpuMs: all.reduce((n, s) => n + s.cpuMs, 0),
    suspected: all.reduce((n, s) => n + s.suspected, 0),
    knowing: all.reduce((n, s) => n + (s.knowing ?? 0), 0),
    deaths,
  };
}
