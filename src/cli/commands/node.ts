import { createLogger } from '../../log/index.js';
import { compileNodeOptions, releaseStartupMemory, startNode } from '../../node/index.js';
import { boolFlag, intFlag, listFlag, stringFlag, type CliCommand } from '../command.js';
import { exitSoon, untilSignal } from '../signals.js';

export const nodeCommand: CliCommand = {
  name: 'node',
  summary: 'join an existing NATS cluster as one node',
  usage: `[--nats URL[,URL]] [--name NAME] [--region R] [--label k=v]... [--tools a,b]
            [--mcp-port P | --no-mcp] [--mcp-host H] [--advertise-host H] [--max-concurrency N] [--drain-timeout S] [--config FILE]

  SIGTERM or Ctrl-C drains the node: it hands the executions it coordinates to other nodes, takes
  no new steps, and finishes its in-flight steps within --drain-timeout seconds (default 30).`,
  options: {
    nats: { type: 'string' },
    name: { type: 'string' },
    region: { type: 'string' },
    label: { type: 'string', multiple: true },
    tools: { type: 'string' },
    'mcp-port': { type: 'string' },
    'mcp-host': { type: 'string' },
    'advertise-host': { type: 'string' },
    'no-mcp': { type: 'boolean' },
    'max-concurrency': { type: 'string' },
    'drain-timeout': { type: 'string' },
    config: { type: 'string' },
  },
  async run(args) {
    const options = compileNodeOptions({
      config: stringFlag(args, 'config'),
      nats: stringFlag(args, 'nats'),
      name: stringFlag(args, 'name'),
      region: stringFlag(args, 'region'),
      labels: listFlag(args, 'label'),
      tools: stringFlag(args, 'tools'),
      mcpPort: intFlag(args, 'mcp-port', { min: 0, max: 65535 }),
      mcpHost: stringFlag(args, 'mcp-host'),
      advertiseHost: stringFlag(args, 'advertise-host'),
      noMcp: boolFlag(args, 'no-mcp'),
      maxConcurrency: intFlag(args, 'max-concurrency', { min: 1 }),
      drainTimeoutS: intFlag(args, 'drain-timeout', { min: 0 }),
    });
    const log = createLogger();
    // Listen before starting: a SIGTERM during start-up still stops the node cleanly.
    const stopSignal = untilSignal();
    const node = await startNode(options, log);
    releaseStartupMemory();
    const signal = await stopSignal;
    log.info({ signal }, 'stopping');
    await node.stop();
    exitSoon(0);
    return 0;
  },
};
