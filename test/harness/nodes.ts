/** In-process wfmesh nodes for tests: real NATS connections, real HTTP, loopback only. */
import { silentLogger } from '../../src/log/index.js';
import { compileNodeOptions, startNode, type MeshNode, type NodeFlags } from '../../src/node/index.js';

/** Starts a node on `url` with HTTP on a free loopback port; env is ignored unless given. */
export function startTestNode(url: string, flags: NodeFlags = {}, env: NodeJS.ProcessEnv = {}): Promise<MeshNode> {
  const options = compileNodeOptions({ nats: url, mcpPort: 0, ...flags }, env);
  return startNode(options, silentLogger());
}

/** Stops nodes, ignoring ones already stopped. */
export async function stopAll(nodes: MeshNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n.stop()));
}
