import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { silentLogger } from '../src/log/index.js';
import { compileNodeOptions, startNode } from '../src/node/index.js';
import { echoChainYaml } from './steps.js';
import { nowUs, summary } from './stats.js';

/**
 * mcp_workflow10_ms: MCP execute_workflow over HTTP for a 10-step echo workflow, distributed, with
 * durable records. The entry node offers no echo tool, so every step runs on another node process.
 */
export async function measureMcpWorkflow10(url: string, count: number): Promise<{ p50: number; p99: number }> {
  const node = await startNode(compileNodeOptions({ nats: url, name: 'bench-mcp', mcpPort: 0, tools: 'transform' }, {}), silentLogger());
  while (!node.registry.list().some((p) => p.tools.includes('echo'))) await new Promise((r) => setTimeout(r, 20));
  const client = new Client({ name: 'wfmesh-bench', version: '0.1.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${node.http.url}/mcp`)));
    const yaml = echoChainYaml(10);
    const samples: number[] = [];
    for (let i = 0; i < count + 5; i++) {
      const t0 = nowUs();
      const result = await client.callTool({ name: 'execute_workflow', arguments: { yaml, input: 'hi', mode: 'distributed' } });
      const status = (result.structuredContent as { status?: string } | undefined)?.status;
      if (status !== 'completed') throw new Error(`execute_workflow ended ${status}: ${JSON.stringify(result.content).slice(0, 300)}`);
      if (i >= 5) samples.push((nowUs() - t0) / 1000);
    }
    return summary(samples, 2);
  } finally {
    await client.close();
    await node.stop();
  }
}
