/**
 * Real nats-server processes for tests, on free loopback ports, stopped by PID when the test ends.
 * When NATS_URL is set, `startTestNats` uses that server instead of starting one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
