import { randomBytes } from 'node:crypto';
import { createLogger } from '../../log/index.js';
import { serveMcpStdio } from '../../mcp/index.js';

import { compileNodeOptions, startNode } from '../../node/index.js';
import { MeshError } from '../../protocol/errors.js';
import { boolFlag, intFlag, stringFlag, type CliCommand } from '../command.js';
import { untilSignal, exitSoon } from '../signals.js';

export const mcpCommand: CliCommand = {
  name: 'mcp',
  summary: 'serve MCP over stdio (for desktop MCP clients) as a node of the mesh',
  usage: `--stdio [--nats URL[,URL]] [--name NAME] [--region R] [--http-port P] [--config FILE]

  Joins the mesh as a node (no HTTP MCP) and answers MCP on stdin/stdout; logs go to stderr.
  --http-port: where its /healthz and /metrics listen (default: a free port, 0).
  Every node also serves MCP over Streamable HTTP at http://HOST:PORT/mcp.`,
  options: {
    stdio: { type: 'boolean' },
    nats: { type: 'string' },
    name: { type: 'string' },
    region: { type: 'string' },
    'http-port': { type: 'string' },
    config: { type: 'string' },
  },
  async run(args) {
    if (!boolFlag(args, 'stdio')) {
      throw new MeshError('USAGE', 'only --stdio is served here; every node (`wfmesh node`, `wfmesh up`) serves MCP over HTTP at /mcp');
    }
    const options = compileNodeOptions({
      config: stringFlag(args, 'config'),
      nats: stringFlag(args, 'nats'),
      name: stringFlag(args, 'name') ?? `mcp-stdio-${randomBytes(2).toString('hex')}`,
      region: stringFlag(args, 'region'),
      mcpPort: intFlag(args, 'http-port', { min: 0, max: 65535 }),
      noMcp: true,
    });
    const log = createLogger(); // stderr: stdout is the protocol
    const signal = untilSignal(); // before start-up: a signal during it still stops the node
    const node = await startNode(options, log);
    try {
      const executions = node.executions;
      if (!executions) throw new MeshError('INTERNAL', 'the node started without its execution service');
      await Promise.race([serveMcpStdio(node, executions), signal]);
    } finally {
      await node.stop();
      exitSoon(0);
    }
    return 0;
  },
};
