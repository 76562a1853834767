/**
 * Real nats-server processes for tests, on free loopback ports, stopped by PID when the test ends.
 * When NATS_URL is set, `startTestNats` uses that server instead of starting one.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { startNatsCluster, startNatsServer, type NatsCluster, type NatsServerProcess } from '../../src/nats/index.js';

export interface TestNats {
  /** URL(s) to connect to: one per server. */
  readonly urls: string[];
  readonly url: string;
  /** The servers this harness started (empty when NATS_URL was used). */
  readonly servers: NatsServerProcess[];
  readonly workDir: string;
  stop(): Promise<void>;
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `wfmesh-${prefix}-`));
}

/** One nats-server with JetStream and monitoring (or NATS_URL when set). */
export async function startTestNats(opts: { jetstream?: boolean; extraConfig?: string; useEnv?: boolean } = {}): Promise<TestNats> {
  const workDir = tempDir('nats');
  const external = process.env.NATS_URL;
  if (external && opts.useEnv !== false && !opts.extraConfig) {
    return { urls: external.split(','), url: external.split(',')[0]!, servers: [], workDir, stop: async () => rmSync(workDir, { recursive: true, force: true }) };
  }
  const server = await startNatsServer({
    workDir,
    jetstreamDir: opts.jetstream === false ? undefined : join(workDir, 'js'),
    extraConfig: opts.extraConfig,
  });
  return {
    urls: [server.url],
    url: server.url,
    servers: [server],
    workDir,
    stop: async () => {
      await server.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * One nats-server (startTestNats) and one connection to it for the tests of this file: started
 * before the first test, closed and stopped after the last. Read `.nc` inside tests.
 */
export function natsForTests(): { readonly nc: NatsConnection; readonly nats: TestNats } {
  const state: { nc?: NatsConnection; nats?: TestNats } = {};
  before(async () => {
    state.nats = await startTestNats();
    state.nc = await connect({ servers: state.nats.url, noAsyncTraces: true });
  });
  after(async () => {
    await state.nc?.close();
    await state.nats?.stop();
  });
  return {
    get nc() {
      if (!state.nc) throw new Error('natsForTests: the connection is made before the first test');
      return state.nc;
    },
    get nats() {
      if (!state.nats) throw new Error('natsForTests: the server starts before the first test');
      return state.nats;
    },
  };
}

/** A real cluster of three nats-servers with routes and JetStream. */
export async function startTestCluster(opts: { size?: number; jetstream?: boolean } = {}): Promise<TestNats & { cluster: NatsCluster }> {
  const workDir = tempDir('cluster');
  const cluster = await startNatsCluster({ workDir, size: opts.size ?? 3, jetstream: opts.jetstream ?? true });
  return {
    cluster,
    urls: cluster.urls,
    url: cluster.urls[0]!,
    servers: cluster.servers,
    workDir,
    stop: async () => {
      await cluster.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Keeps `port` on loopback taken until `release()`, closing every connection to it at once. A
 * killed test server's nodes keep trying its address, and a nats-server another test starts on
 * that freed port meanwhile would take them into that test's mesh.
 */
export async function holdPort(port: number): Promise<{ release(): Promise<void> }> {
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => {
    holder.once('error', () => resolve()); // taken already: nothing to hold
    holder.listen(port, '127.0.0.1', () => resolve());
  });
  return { release: () => new Promise<void>((resolve) => (holder.listening ? holder.close(() => resolve()) : resolve())) };
}

/**
 * Stops `server` with SIGSTOP and returns once every thread of it stands still. The signal takes
 * a moment to land on a loaded machine: a message published right after kill() returns could
 * still go through a server that is about to stop (seen in one run of about twenty, eight test
 * processes at once on two cores).
 */
export async function freezeServer(server: NatsServerProcess): Promise<void> {
  server.kill('SIGSTOP');
  const stopped = (): boolean => {
    try {
      // The state is the field after the command name (in parentheses): T when stopped.
      return readdirSync(`/proc/${server.pid}/task`).every((tid) => /\) T /.test(readFileSync(`/proc/${server.pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      return process.platform !== 'linux'; // no /proc: nothing to wait on
    }
  };
  for (let i = 0; !stopped(); i++) {
    if (i > 500) throw new Error(`nats-server ${server.pid} did not stop within 5 s of SIGSTOP`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Kills `server` for good and holds its client port (see holdPort). */
export async function killServerForGood(server: NatsServerProcess): Promise<{ release(): Promise<void> }> {
  server.kill('SIGKILL');
  await server.exited;
  return holdPort(server.port);
}
