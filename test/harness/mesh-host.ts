/**
 * A child process that hosts many mesh nodes, driven over IPC by mesh-hosts.ts (the scale bench,
 * the stall test). Two kinds of node: full nodes (`startNode()`: step server, executions, store)
 * and membership peers (the real Membership code on a NATS connection of their own, and nothing
 * else), which put exactly a node's membership traffic on the wire for a fraction of its memory.
 * Freezing the process (SIGSTOP) freezes every node in it, as a stalled machine would.
 */
import pino from 'pino';
import { silentLogger } from '../../src/log/index.js';
import { connect } from 'nats';
import { Membership } from '../../src/mesh/membership.js';
import { nodeConnectionName } from '../../src/mesh/connection-watch.js';
import { compileConnectionOptions, NODE_CONNECTION } from '../../src/nats/connection.js';
import { compileNodeOptions, startNode, type MeshNode } from '../../src/node/index.js';
import type { NodeCapabilities } from '../../src/protocol/advert.js';
import { VERSION } from '../../src/version.js';
import type { HostReply, HostRequest, HostStats } from './mesh-hosts.js';

interface Hosted {
  name: string;
  membership: Membership;
  full?: MeshNode;
  close(): Promise<void>;
}

const hosted: Hosted[] = [];
/** Peers this process's nodes declared dead: peer name → how many of our nodes did, and when first. */
const deaths = new Map<string, { count: number; firstAt: number }>();
let cpuAtReset = process.cpuUsage();
let resetAt = Date.now();

function watch(name: string, membership: Membership): void {
  membership.registry.onChange((e) => {
    if (e.kind !== 'left' || e.reason !== 'dead') return;
    const d = deaths.get(e.name) ?? { count: 0, firstAt: Date.now() };
    d.count++;
    deaths.set(e.name, d);
  });
  void name;
}

/** MESH_HOST_DEBUG=<regexp>: membership peers whose name matches log at debug level on stderr. */
const DEBUG_NAMES = process.env.MESH_HOST_DEBUG ? new RegExp(process.env.MESH_HOST_DEBUG) : undefined;
const peerLogger = (name: string) => (DEBUG_NAMES?.test(name) ? pino({ level: 'debug', base: { node: name } }, pino.destination(2)) : silentLogger());

function peerCapabilities(name: string, region: string): Omit<NodeCapabilities, 'id'> {
  return {
    name,
    version: VERSION,
    region,
    labels: { role: 'membership-peer', tier: name.endsWith('0') ? 'fast' : 'std' },
    cpu: { cores: 16, model: 'AMD EPYC 7763 64-Core Processor' },
    memory: { total_mib: 64_000 },
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', arch: 'x64' },
    gpus: [],
    // It runs no steps: it offers no tool, so placement never picks it.
    tools: [],
    models: [],
    mcp_url: null,
    http_url: `http://127.0.0.1:1/${name}`,
    started_at: new Date().toISOString(),
  };
}

async function startOne(url: string, name: string, region: string, full: boolean, heartbeatMs: number): Promise<Hosted> {
  if (full) {
    const env = { WFMESH_HEARTBEAT_MS: String(heartbeatMs), WFMESH_LOG_LEVEL: 'silent' };
    const node = await startNode(compileNodeOptions({ nats: url, name, region, noMcp: true, mcpPort: 0, maxConcurrency: 8 }, env), silentLogger());
    watch(name, node.membership);
    return { name, membership: node.membership, full: node, close: () => node.stop() };
  }
  // The node's own connection options, with a longer handshake: a host starting its share of a
  // thousand nodes is busy reading their announcements and may take longer than 5 s to answer.
  const nc = await connect({ ...compileConnectionOptions({ servers: [url] }, nodeConnectionName(name), NODE_CONNECTION), timeout: 60_000 });
  const membership = await Membership.create({
    nc,
    capabilities: peerCapabilities(name, region),
    version: VERSION,
    heartbeatMs,
    deadAfterMs: Math.round(heartbeatMs * 2.5),
    // Not RUNNING: it takes no steps and no executions, so it is never chosen to run a step, to
    // scan for orphaned executions or to take one over (a full node would be).
    liveLoad: () => ({ state: 'STARTING', load: { inflight: 0, max_concurrency: 8, cpu_pct: 0 }, memory_free_mib: 60_000 }),
    log: peerLogger(name),
  });
  watch(name, membership);
  return {
    name,
    membership,
    close: async () => {
      await membership.stop();
      await nc.close();
    },
  };
}

function stats(about?: string): HostStats {
  let minView = Infinity;
  let maxView = 0;
  let smallest = '';
  for (const h of hosted) {
    if (h.membership.registry.size < minView) smallest = h.name;
    minView = Math.min(minView, h.membership.registry.size);
    maxView = Math.max(maxView, h.membership.registry.size);
  }
  const cpu = process.cpuUsage(cpuAtReset);
  return {
    nodes: hosted.length,
    minView: hosted.length ? minView : 0,
    smallestView: smallest,
    maxView,
    rssMib: Math.round(process.memoryUsage().rss / 1048576),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    sinceMs: Date.now() - resetAt,
    deaths: Object.fromEntries(deaths),
    suspected: hosted.reduce((n, h) => n + h.membership.registry.suspectCount, 0),
    ...(about !== undefined && { knowing: hosted.filter((h) => h.name !== about && h.membership.registry.list().some((p) => p.name === about)).length }),
  };
}

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start': {
      for (let i = 0; i < req.names.length; i += req.batch) {
        const batch = req.names.slice(i, i + req.batch);
        hosted.push(...(await Promise.all(batch.map((n) => startOne(req.url, n.name, n.region, n.full, req.heartbeatMs)))));
        // A rolling start, as an operator's would be: the mesh digests each batch's announcements.
        if (req.names.length > 50) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return { started: hosted.length };
    }
    case 'stats':
      return stats(req.about);
    case 'reset':
      deaths.clear();
      cpuAtReset = process.cpuUsage();
      resetAt = Date.now();
      return {};
    case 'execute': {
      const node = hosted.find((h) => h.name === req.node)?.full;
      if (!node?.executions) throw new Error(`${req.node} is not a full node here`);
      const ids: string[] = [];
      for (let i = 0; i < req.count; i++) ids.push((await node.executions.start({ yaml: req.yaml, input: `run-${i}`, mode: 'async' })).execution_id);
      return { ids };
    }
    case 'stop':
      await Promise.allSettled(hosted.map((h) => h.close()));
      return {};
  }
}

process.on('message', (raw: HostRequest & { seq: number }) => {
  void handle(raw).then(
    (value) => process.send?.({ seq: raw.seq, ok: true, value } satisfies HostReply),
    (err: Error) => process.send?.({ seq: raw.seq, ok: false, error: err.stack ?? err.message } satisfies HostReply),
  );
});
// Its parent gone (a bench or test that died), the host goes too: no orphaned nodes.
process.on('disconnect', () => process.exit(0));
process.send?.({ seq: 0, ok: true, value: 'ready' } satisfies HostReply);
