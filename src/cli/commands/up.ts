import { mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { createLogger } from '../../log/index.js';
import { connectNats } from '../../nats/connection.js';
import { startNatsServer, type NatsServerProcess } from '../../nats/server-launcher.js';
import { compileNodeOptions, compileNatsSettings, releaseStartupMemory, startNode, DEFAULT_MCP_PORT, type MeshNode } from '../../node/index.js';
import { MeshError } from '../../protocol/errors.js';
import { intFlag, stringFlag, type CliCommand } from '../command.js';
import { exitSoon, untilSignal } from '../signals.js';

/** Regions given to the nodes of `wfmesh up`, in turn: two EU and one US, so placement has something to do. */
export const UP_REGIONS = ['eu-west', 'us-east', 'eu-central', 'ap-southeast'] as const;

async function natsAlreadyAnswers(url: string): Promise<boolean> {
  try {
    const nc = await connectNats(compileNatsSettings(url), 'wfmesh-client:up-probe');
    await nc.close();
    return true;
  } catch (err) {
    if (err instanceof MeshError && err.code === 'NATS_AUTH') throw err;
    return false;
  }
}

export const upCommand: CliCommand = {
  name: 'up',
  summary: 'start a local mesh: nats-server (JetStream, monitoring on 8222) and N nodes',
  usage: '[--nodes N] [--mcp-port 4020] [--data DIR] [--files DIR] [--nats-port 4222] [--monitor-port 8222]',
  options: {
    nodes: { type: 'string' },
    'mcp-port': { type: 'string' },
    data: { type: 'string' },
    files: { type: 'string' },
    'nats-port': { type: 'string' },
    'monitor-port': { type: 'string' },
  },
  async run(args, io) {
    const count = intFlag(args, 'nodes', { min: 1 }, 3);
    const chosenPort = intFlag(args, 'mcp-port', { min: 1, max: 65535 });
    const mcpPort = chosenPort ?? DEFAULT_MCP_PORT;
    const dataDir = resolve(stringFlag(args, 'data') ?? '.wfmesh');
    // The filesystem tool's root: a folder of its own under --data, never the working directory
    // (for `npm start` that is the checkout, whose code a workflow could otherwise overwrite).
    const filesDir = resolve(stringFlag(args, 'files') ?? join(dataDir, 'files'));
    mkdirSync(filesDir, { recursive: true });
    const log = createLogger();
    // Listen before starting anything: Ctrl-C during start-up still stops what was started.
    const stopSignal = untilSignal();
    const natsPort = intFlag(args, 'nats-port', { min: 1, max: 65535 }, 4222);
    const monitorPort = intFlag(args, 'monitor-port', { min: 1, max: 65535 }, 8222);
    const natsUrl = process.env.NATS_URL || `nats://127.0.0.1:${natsPort}`;

    let server: NatsServerProcess | undefined;
    if (await natsAlreadyAnswers(natsUrl)) {
      log.info({ nats: natsUrl }, 'a NATS server already answers: joining it');
    } else if (process.env.NATS_URL) {
      throw new MeshError('NATS_CONNECT', `NATS_URL=${natsUrl} does not answer; unset it to let \`wfmesh up\` start its own nats-server`);
    } else {
      server = await startNatsServer({
        name: 'wfmesh-local',
        port: natsPort,
        monitorPort,
        workDir: dataDir,
        jetstreamDir: join(dataDir, 'jetstream'),
      });
      log.info({ nats: server.url, monitoring: server.monitorUrl, pid: server.pid }, 'started nats-server');
    }

    const nodes: MeshNode[] = [];
    const stopAll = async () => {
      await Promise.allSettled(nodes.map((n) => n.stop()));
      await server?.stop();
    };
    try {
      for (let i = 0; i < count; i++) {
        const options = compileNodeOptions({
          nats: server?.url ?? natsUrl,
          name: `node-${i + 1}`,
          region: UP_REGIONS[i % UP_REGIONS.length],
          labels: [`tier=${i === 0 ? 'entry' : 'worker'}`],
          mcpPort: mcpPort + i,
          // Default ports step aside for a node already on this machine; a chosen one does not.
          mcpPortFallback: chosenPort === undefined,
          filesystemRoot: filesDir,
        });
        nodes.push(await startNode(options, log));
      }
    } catch (err) {
      await stopAll();
      throw err;
    }

    io.err(
      [
        '',
        `wfmesh is up: ${count} node(s) on ${server?.url ?? natsUrl}`,
        ...(server ? [`  NATS monitoring: ${server.monitorUrl}/varz (routes: /routez, JetStream: /jsz)`] : []),
        `  MCP endpoint:    ${nodes[0]?.http.url}/mcp`,
        `  Files:           ${filesDir} (the filesystem tool's root; --files DIR to change it)`,
        ...nodes.map((n) => `  ${n.name.padEnd(8)} ${n.options.region.padEnd(13)} health ${n.http.url}/healthz`),
        '  In another shell: npx wfmesh nodes',
        '  Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
    releaseStartupMemory();
    const signal = await stopSignal;
    log.info({ signal }, 'stopping the local mesh');
    await stopAll();
    exitSoon(0);
    return 0;
  },
};
