import type { Logger } from 'pino';
import { MeshNode } from './mesh-node.js';
import type { NodeOptions } from './options.js';

/**
 * Starts a complete node: joins the mesh (MeshNode), then attaches what it serves.
 * Every node role (`wfmesh node`, `wfmesh up`, `wfmesh mcp --stdio`) starts here.
 */
export async function startNode(options: NodeOptions, log: Logger): Promise<MeshNode> {
  const node = await MeshNode.create(options, log);
  try {
    // Services attach here, in dependency order (step server, executions, MCP).
  } catch (err) {
    await node.stop();
    throw err;
  }
  return node;
}
