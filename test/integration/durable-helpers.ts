/**
 * Shared by the durability tests: `wfmesh node` processes (real child processes, killed, frozen
 * and restarted), an HTTP API with a counted side effect, and records read straight from the
 * store by the test's own NATS connection.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { silentLogger } from '../../src/log/index.js';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { ExecutionStore } from '../../src/store/index.js';
import type { EffectServer } from '../harness/effect-server.js';
import { spawnCli, waitFor, type CliProcess } from '../harness/processes.js';
import { call, connectHttp, structured } from './mcp-helpers.js';

/** Heartbeats: a dead or frozen node is dropped after 2.5 of them (the default second, so that a loaded CI machine does not see false deaths). */
export const HEARTBEAT_MS = '1000';

export interface NodeProcess {
  name: string;
  proc: CliProcess;
  mcpUrl?: string;
}

/** Nodes of one test, on one NATS URL list, allowed to call the effect server. */
export class TestMesh {
  readonly nodes = new Map<string, NodeProcess>();
  private readonly clients: Client[] = [];
  private readonly all: CliProcess[] = [];
  nc: NatsConnection | undefined;
  store: ExecutionStore | undefined;

  constructor(
    /** Comma-separated server URLs the nodes (and the test's own reads) use. */
    public natsUrl: string,
    readonly effect: EffectServer,
  ) {}

  /** Starts `wfmesh node NAME` (args added) and waits until it joined. */
  async start(name: string, args: string[] = [], opts: { mcp?: boolean } = {}): Promise<NodeProcess> {
    const proc = spawnCli(['node', '--nats', this.natsUrl, '--name', name, ...(opts.mcp ? ['--mcp-port', '0'] : ['--no-mcp']), ...args], {
      env: { WFMESH_HEARTBEAT_MS: HEARTBEAT_MS, WFMESH_HTTP_HOSTS: this.effect.host, WFMESH_DRAIN_TIMEOUT: '30', WFMESH_LOG_LEVEL: process.env.WFMESH_TEST_NODE_LOG_LEVEL ?? 'info' },
    });
    this.all.push(proc);
    await proc.waitFor('node joined the mesh', 60_000);
    const node: NodeProcess = { name, proc };
    if (opts.mcp) {
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/mcp)"/.exec(proc.stderr())?.[1];
      assert.ok(url, `MCP URL in the log of ${name}`);
      node.mcpUrl = url;
    }
    this.nodes.set(name, node);
    return node;
  }

  /** An MCP client of node `name`, once that node sees every node of the mesh. */
  async client(name: string): Promise<Client> {
    const url = this.nodes.get(name)?.mcpUrl;
    assert.ok(url, `${name} serves MCP`);
    const c = await connectHttp(url);
    this.clients.push(c);
    const want = this.nodes.size;
    await waitFor(`${name} to see ${want} nodes`, async () => {
      const status = structured<{ nodes: { name: string; state: string }[] }>(await call(c, 'mesh_status', {}));
      return status.nodes.filter((n) => n.state === 'RUNNING').length >= want ? true : undefined;
    }, 30_000);
    return c;
  }

  /** Records straight from JetStream KV, as any node would read them. */
  async records(ids: readonly string[]): Promise<ExecutionRecord[]> {
    this.nc ??= await connect({ servers: this.natsUrl.split(',') });
    this.store ??= new ExecutionStore(this.nc, { log: silentLogger() });
    const out: ExecutionRecord[] = [];
    for (const id of ids) {
      const r = (await this.store.get(id))?.record;
      assert.ok(r, `record ${id} exists`);
      out.push(r);
    }
    return out;
  }

  /** Waits until every execution ended; returns the records. */
  async allEnded(ids: readonly string[], timeoutMs = 120_000): Promise<ExecutionRecord[]> {
    this.nc ??= await connect({ servers: this.natsUrl.split(',') });
    this.store ??= new ExecutionStore(this.nc, { log: silentLogger() });
    const store = this.store;
    let open: string[] = [];
    await waitFor(
      `${ids.length} executions to end`,
      async () => {
        open = [];
        for (const id of ids) {
          const h = (await store.getHeader(id))?.record;
          if (!h || h.status === 'running' || h.status === 'pending') open.push(h ? `${id} (${h.status} on ${h.coordinator}, epoch ${h.epoch ?? 0}, ${h.steps_done ?? 0}/${h.steps_total ?? 0} steps)` : `${id} (no header)`);
        }
        return open.length === 0 ? true : undefined;
      },
      timeoutMs,
    ).catch((err: Error) => {
      // Which ones, and where they stand: what a timeout alone cannot tell.
      this.saveLogs();
      throw new Error(`${err.message}; still open: ${open.join('; ')}`);
    });
    // Retried: right after a server of the cluster dies, JetStream may need a moment to elect.
    return waitFor('the records to read back', () => this.records(ids), 60_000);
  }

  /** With WFMESH_TEST_LOG_DIR set, each node's stderr goes to DIR/NAME.log (to study a failure). */
  saveLogs(): void {
    const dir = process.env.WFMESH_TEST_LOG_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    for (const [name, n] of this.nodes) writeFileSync(join(dir, `${name}.log`), n.proc.stderr());
  }

  async close(): Promise<void> {
    this.saveLogs();
    await Promise.allSettled(this.clients.map((c) => c.close()));
    for (const p of this.all) p.kill('SIGKILL');
    await Promise.allSettled(this.all.map((p) => p.exited));
    await this.nc?.close();
  }
}

/** Three steps: a short sleep, one call to the effect API (held open `holdMs`), a short sleep. */
export function effectWorkflow(effectUrl: string, holdMs: number): string {
  return `workflows:
  main:
    - {id: warm, tool: sleep, args: {ms: 300}}
    - id: effect
      tool: http
      method: request
      args: {url: "${effectUrl}/effect?hold=${holdMs}", method: POST, body: {n: "\${user_input}"}}
    - {id: cool, tool: sleep, args: {ms: 200}}
`;
}

/** Starts `count` async executions through an MCP client; resolves with their ids. */
export async function startMany(client: Client, yaml: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = structured<{ execution_id: string; status: string }>(await call(client, 'execute_workflow', { yaml, input: `run-${i}`, mode: 'async' }));
    assert.equal(r.status, 'running');
    ids.push(r.execution_id);
  }
  return ids;
}

/** Every record completed; the effect step ran once per execution: one applied effect per key. */
export function assertEffectsOnce(records: readonly ExecutionRecord[], effect: EffectServer): void {
  for (const r of records) assert.equal(r.status, 'completed', `${r.execution_id}: ${r.status} ${r.error?.message ?? ''}`);
  const keys = records.map((r) => `${r.execution_id}:effect:1`);
  for (const key of keys) assert.equal(effect.effects.get(key), 1, `effect of ${key} applied once`);
  assert.equal(effect.effects.size, records.length, 'no other effect was applied');
  assert.equal(effect.unkeyed, 0, 'every call carried its Idempotency-Key');
}

/** The effect step's attempts as the record lists them: node and outcome of each dispatch. */
export function effectAttempts(r: ExecutionRecord): { node: string; status: string; epoch: number }[] {
  const row = r.steps.find((s) => s.id === 'effect');
  return (row?.history ?? []).map((h) => ({ node: h.node, status: h.status, epoch: h.epoch }));
}
