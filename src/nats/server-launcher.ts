import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MeshError } from '../protocol/errors.js';
import { freePort } from './ports.js';

/** Options for one `nats-server` process. Ports left out are picked free on loopback. */
export interface NatsServerOptions {
  name?: string;
  host?: string;
  port?: number;
  /** Monitoring HTTP port (`/varz`, `/healthz`, ...). */
  monitorPort?: number;
  /** JetStream store folder; JetStream is off when absent. */
  jetstreamDir?: string;
  /** Cluster membership: this server's route port and the routes to its peers. */
  cluster?: { name: string; port: number; routes: string[] };
  /** Extra lines for the config file (authorization, tls, accounts...). */
  extraConfig?: string;
  /** Folder for the generated config file and the log. */
  workDir: string;
  /** How long to wait for /healthz. */
  readyTimeoutMs?: number;
}

export interface NatsServerProcess {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly monitorUrl: string;
  readonly pid: number;
  readonly configFile: string;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server at once (for failure tests). */
  kill(signal?: NodeJS.Signals): void;
  readonly exited: Promise<number | null>;
}

/** Path of the nats-server binary: NATS_SERVER_BIN, else PATH. Throws NATS_SERVER_MISSING. */
export function findNatsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'nats-server');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  throw new MeshError(
    'NATS_SERVER_MISSING',
    'nats-server was not found on PATH (set NATS_SERVER_BIN, or run `npm run setup` which installs it on Debian/Ubuntu)',
  );
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function renderConfig(o: Required<Pick<NatsServerOptions, 'name' | 'host'>> & NatsServerOptions & { port: number; monitorPort: number }): string {
  const lines = [
    `server_name: ${JSON.stringify(o.name)}`,
    `listen: "${o.host}:${o.port}"`,
    `http: "${o.host}:${o.monitorPort}"`,
    'max_payload: 8MB',
  ];
  if (o.jetstreamDir) {
    lines.push(`jetstream { store_dir: ${JSON.stringify(o.jetstreamDir)}, max_memory_store: 256MB, max_file_store: 2GB }`);
  }
  if (o.cluster) {
    const routes = o.cluster.routes.map((r) => JSON.stringify(r)).join(', ');
    lines.push(`cluster { name: ${JSON.stringify(o.cluster.name)}, listen: "${o.host}:${o.cluster.port}", routes: [${routes}] }`);
  }
  if (o.extraConfig) lines.push(o.extraConfig);
  return `${lines.join('\n')}\n`;
}

/**
 * Ports are picked free a moment before the server binds them, so another process (a client's
 * outgoing connection takes a port from the same range) can take one meanwhile: such a start is
 * tried again on other ports, this many times in all.
 */
const START_ATTEMPTS = 3;

/** Bytes in `file` now (0 when there is none): where this start's lines of an appended log begin. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The server's own last words in its log since byte `from`: why it stopped (`... bind: address already in use`). */
function lastLogLines(logFile: string, from: number, lines = 3): string {
  try {
    return readFileSync(logFile).subarray(from).toString('utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

/** A start that failed only because a port picked for it was taken meanwhile. */
function portTaken(err: unknown): boolean {
  return err instanceof MeshError && err.code === 'NATS_CONNECT' && /address already in use/.test(err.message);
}

async function waitHealthy(monitorUrl: string, exited: Promise<number | null>, timeoutMs: number, log: { file: string; from: number }): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => {
    gone = code;
  });
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (gone !== undefined) {
      const why = lastLogLines(log.file, log.from);
      throw new MeshError('NATS_CONNECT', `nats-server exited with code ${gone} during start-up${why ? `: ${why}` : ''} (its log: ${log.file})`);
    }
    try {
      const res = await fetch(`${monitorUrl}/healthz`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new MeshError('NATS_CONNECT', `nats-server at ${monitorUrl} was not healthy after ${timeoutMs} ms`);
}

/**
 * Starts one nats-server and resolves once its /healthz answers 200. Ports it picked itself that
 * were taken before the server bound them are picked again (START_ATTEMPTS).
 */
export async function startNatsServer(opts: NatsServerOptions): Promise<NatsServerProcess> {
  // A cluster's servers share their route ports: the cluster starts again as a whole.
  const ownPorts = (opts.port === undefined || opts.monitorPort === undefined) && !opts.cluster;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsServerOnce(opts);
    } catch (err) {
      if (!ownPorts || !portTaken(err) || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function startNatsServerOnce(opts: NatsServerOptions): Promise<NatsServerProcess> {
  const bin = findNatsServerBinary();
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const monitorPort = opts.monitorPort ?? (await freePort(host));
  const name = opts.name ?? `wfmesh-${port}`;
  mkdirSync(opts.workDir, { recursive: true });
  if (opts.jetstreamDir) mkdirSync(opts.jetstreamDir, { recursive: true });
  const configFile = join(opts.workDir, `${name}.conf`);
  writeFileSync(configFile, renderConfig({ ...opts, name, host, port, monitorPort }));

  const logFile = join(opts.workDir, `${name}.log`);
  const logFrom = sizeOf(logFile); // the server appends: a restart's reason is in what follows
  const child = spawn(bin, ['-c', configFile, '-l', logFile], { stdio: 'ignore' });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.once('error', () => {
      running.delete(child);
      resolve(-1);
    });
  });
  const monitorUrl = `http://${host}:${monitorPort}`;
  try {
    await waitHealthy(monitorUrl, exited, opts.readyTimeoutMs ?? 15_000, { file: logFile, from: logFrom });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    name,
    url: `nats://${host}:${port}`,
    port,
    monitorUrl,
    pid: child.pid ?? -1,
    configFile,
    exited,
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface NatsClusterOptions {
  size?: number;
  workDir: string;
  jetstream?: boolean;
  host?: string;
  extraConfig?: string;
}

export interface NatsCluster {
  readonly servers: NatsServerProcess[];
  readonly urls: string[];
  stop(): Promise<void>;
}

/** Waits until the server at `monitorUrl` has `count` routes up (so messages cross the cluster). */
async function waitRoutes(monitorUrl: string, count: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${monitorUrl}/routez`);
      const body = (await res.json()) as { num_routes?: number };
      if ((body.num_routes ?? 0) >= count) return;
    } catch {
      /* try again */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new MeshError('NATS_CONNECT', `nats-server at ${monitorUrl} did not see ${count} routes within ${timeoutMs} ms`);
}

/**
 * Starts a cluster of nats-servers (default 3) with full-mesh routes, optionally with JetStream.
 * When one server fails to start, the others are stopped (none is left running); a route port
 * taken meanwhile starts the whole cluster again on other ports (START_ATTEMPTS).
 */
export async function startNatsCluster(opts: NatsClusterOptions): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(opts);
    } catch (err) {
      if (!portTaken(err) || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

async function startNatsClusterOnce(opts: NatsClusterOptions): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const host = opts.host ?? '127.0.0.1';
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort(host));
  const routes = routePorts.map((p) => `nats-route://${host}:${p}`);
  const clusterName = `wfmesh-${routePorts[0]}`;
  const started = await Promise.allSettled(
    routePorts.map((routePort, i) =>
      startNatsServer({
        name: `${clusterName}-s${i + 1}`,
        host,
        workDir: opts.workDir,
        jetstreamDir: opts.jetstream ? join(opts.workDir, `js-${i + 1}`) : undefined,
        cluster: { name: clusterName, port: routePort, routes: routes.filter((_, j) => j !== i) },
        extraConfig: opts.extraConfig,
        readyTimeoutMs: 30_000,
      }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await Promise.all(servers.map((s) => waitRoutes(s.monitorUrl, size - 1, 15_000)));
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  return {
    servers,
    urls: servers.map((s) => s.url),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
