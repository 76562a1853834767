import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { silentLogger } from '../src/log/index.js';
import { runExecution } from '../src/engine/index.js';
import { compileNodeOptions, startNode, stepRunners } from '../src/node/index.js';
import { loadWorkflowDocument } from '../src/workflow/index.js';
import { echoChainYaml } from './steps.js';
import { nowUs, summary, type Summary } from './stats.js';

/** The first figure is taken from a fresh node; the second after this many more runs. */
const WARM_UP_RUNS = 300;

/**
 * mcp_workflow10_ms: MCP execute_workflow over HTTP for a 10-step echo workflow, distributed, with
 * durable records. The entry node offers no echo tool, so every step runs on another node process.
 * Two figures from one node: `first` over its first `count` runs (after 5), and `warm` over `count`
 * runs after WARM_UP_RUNS more (`quick`: a tenth). Code that runs once per call (the MCP SDK's
 * client and server, HTTP, the engine's set-up) is optimised by V8 only after some hundreds of
 * calls: on this machine the process's CPU per run falls from ~16 to ~7 ms over the first 400
 * runs. The engine's chain figure is taken warm (after its own rounds), so `warm` is the one to
 * set next to it.
 *
 * `engine`: the same workflow through the engine alone (no MCP, no execution service, no durable
 * record) from the same node to the same workers, one run after each warm MCP run (the order
 * alternating): what MCP and durability add, measured at the same moments. The versus chain
 * (`wfmesh_chain10_ms`) is taken minutes earlier, so a machine that slows down or speeds up in
 * between moves `mcp_over_chain10` by as much; `mcp_over_engine_paired` does not move with it.
 */
export async function measureMcpWorkflow10(url: string, count: number, quick = false): Promise<{ first: Summary; warm: Summary; engine: Summary }> {
  const node = await startNode(compileNodeOptions({ nats: url, name: 'bench-mcp', mcpPort: 0, tools: 'transform' }, {}), silentLogger());
  while (!node.registry.list().some((p) => p.tools.includes('echo'))) await new Promise((r) => setTimeout(r, 20));
  const client = new Client({ name: 'wfmesh-bench', version: '0.1.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${node.http.url}/mcp`)));
    const yaml = echoChainYaml(10);
    const run = async (): Promise<number> => {
      const t0 = nowUs();
      const result = await client.callTool({ name: 'execute_workflow', arguments: { yaml, input: 'hi', mode: 'distributed' } });
      const status = (result.structuredContent as { status?: string } | undefined)?.status;
      if (status !== 'completed') throw new Error(`execute_workflow ended ${status}: ${JSON.stringify(result.content).slice(0, 300)}`);
      return (nowUs() - t0) / 1000;
    };
    const doc = loadWorkflowDocument(yaml);
    const runner = stepRunners(node)('distributed');
    const runEngine = async (): Promise<number> => {
      const t0 = nowUs();
      const rec = await runExecution({ document: doc, input: 'hi', runner, mode: 'distributed', coordinator: node.name });
      if (rec.status !== 'completed') throw new Error(`the engine's chain ended ${rec.status}: ${JSON.stringify(rec.error)}`);
      return (nowUs() - t0) / 1000;
    };
    const samples = async (n: number, f: () => Promise<number>): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(await f());
      return out;
    };
    await samples(5, run);
    const first = summary(await samples(count, run), 2);
    await samples(quick ? WARM_UP_RUNS / 10 : WARM_UP_RUNS, run);
    await samples(quick ? 30 : 200, runEngine);
    const [mcpRuns, engineRuns]: [number[], number[]] = [[], []];
    for (let i = 0; i < count; i++) {
      if (i % 2 === 0) mcpRuns.push(await run());
      engineRuns.push(await runEngine());
      if (i % 2 === 1) mcpRuns.push(await run());
    }
    return { first, warm: summary(mcpRuns, 2), engine: summary(engineRuns, 2) };
  } finally {
    await client.close();
    await node.stop();
  }
}
