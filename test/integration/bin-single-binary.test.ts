/**
 * `npm run build:bin` makes one executable that runs every command from a folder with no
 * node_modules, and joins a real mesh (DESIGN.md sections 2 and 7).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { commands } from '../../src/cli/commands/index.js';
import { createIsolatedExecutor, setIsolatedWorkerCommand } from '../../src/executor/index.js';
import { AdvertisementSchema } from '../../src/protocol/advert.js';
import { VERSION } from '../../src/version.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { repoRoot, runToEnd, startProcess, waitFor } from '../harness/processes.js';
import { call, connectHttp, structured } from './mcp-helpers.js';

const TWO_ECHOES = `workflows:
  main:
    - {id: first, tool: echo, args: {said: "\${user_input}"}}
    - {id: second, tool: echo, args: {again: "\${first.output.said}"}}
`;

describe('the single binary (npm run build:bin)', { timeout: 300_000 }, () => {
  let dir: string;
  let bin: string;
  let nats: TestNats | undefined;
  // Only what a bare machine has: no NODE_PATH, no node_modules anywhere above the folder.
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, WFMESH_LOG_LEVEL: 'info', ...extra });
  const runBin = (args: string[], killAfterMs = 30_000) => runToEnd(startProcess(bin, args, { cwd: dir, env: env() }), killAfterMs);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wfmesh-bin-'));
    bin = join(dir, 'wfmesh');
    const build = spawnSync(process.execPath, [join(repoRoot, 'scripts/build-bin.mjs'), '--out', bin], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(build.status, 0, `build:bin failed:\n${build.stderr}`);
    assert.ok(existsSync(bin) && (statSync(bin).mode & 0o111) !== 0, 'the binary is executable');
    assert.ok(!existsSync(join(dir, 'node_modules')));
  });

  after(async () => {
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('--help lists every command and --version prints the version', async () => {
    const help = await runBin(['--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const cmd of commands.filter((c) => !c.hidden)) assert.match(help.stdout, new RegExp(`^  ${cmd.name}\\b`, 'm'), `--help lists ${cmd.name}`);
    const version = await runBin(['--version']);
    assert.equal(version.stdout.trim(), VERSION);
  });

  test('every command starts inside the binary (its --help answers)', async () => {
    for (const cmd of commands) {
      const res = await runBin([cmd.name, '--help']);
      assert.equal(res.code, 0, `${cmd.name} --help: ${res.stderr}`);
      assert.match(res.stdout, new RegExp(`usage: wfmesh ${cmd.name}`));
    }
    const unknown = await runBin(['no-such-command']);
    assert.equal(unknown.code, 2);
  });

  test('`wfmesh node` joins a real NATS server, `wfmesh nodes` sees it, SIGTERM leaves cleanly', async () => {
    nats = await startTestNats({ useEnv: false });
    const name = `bin-node-${process.pid}`;
    const node = startProcess(bin, ['node', '--nats', nats.url, '--name', name, '--region', 'bin-test', '--label', 'built=sea', '--mcp-port', '0'], {
      cwd: dir,
      env: env(),
    });
    try {
      const advert = await waitFor('the binary node in `wfmesh nodes --json`', async () => {
        const res = await runBin(['nodes', '--nats', nats!.url, '--json']);
        if (res.code !== 0) return undefined;
        const nodes = AdvertisementSchema.array().parse(JSON.parse(res.stdout));
        return nodes.find((n) => n.name === name);
      });
      assert.equal(advert.region, 'bin-test');
      assert.deepEqual(advert.labels, { built: 'sea' });
      assert.equal(advert.state, 'RUNNING');
      assert.ok(advert.http_url, 'the node advertises its HTTP address');
      const health = await fetch(`${advert.http_url}/healthz`);
      assert.equal(health.status, 200);
      // A workflow through the binary's MCP endpoint: MCP SDK, engine, dispatch and store, all bundled.
      assert.ok(advert.mcp_url);
      const client = await connectHttp(advert.mcp_url);
      try {
        const result = await call(client, 'execute_workflow', { yaml: TWO_ECHOES, input: 'from the test', mode: 'distributed' });
        assert.equal(result.isError ?? false, false, JSON.stringify(result.content));
        assert.equal(structured<{ status: string }>(result).status, 'completed');
      } finally {
        await client.close();
      }
      const metrics = await (await fetch(`${advert.http_url}/metrics`)).text();
      assert.match(metrics, /^wfmesh_peers \d+$/m);
      assert.match(metrics, /^wfmesh_steps_total\{status="completed"\} 2$/m);
    } finally {
      const exit = await node.stop();
      assert.equal(exit.code, 0, `the node exits 0 on SIGTERM:\n${node.stderr()}`);
    }
    assert.match(node.stderr(), /"msg":"node joined the mesh"/);
  });

  test('the binary is its own isolated step worker (`<binary> __step-worker`)', async () => {
    setIsolatedWorkerCommand({ command: bin, args: ['__step-worker'] });
    const executor = createIsolatedExecutor(
      {
        node_name: 'bin-test',
        allow: { filesystem_root: dir, http_hosts: [], shell_commands: [], env_vars: [] },
        llm: { models: [], timeout_ms: 1_000 },
        max_output_bytes: 1 << 20,
      },
      { prewarm: false },
    );
    try {
      const output = await executor.execute(
        { kind: 'tool', tool_id: 'say', tool_type: 'echo', args: { from: 'the binary', pid: 'child' } },
        AbortSignal.timeout(30_000),
      );
      assert.deepEqual(output, { from: 'the binary', pid: 'child' });
    } finally {
      setIsolatedWorkerCommand(undefined);
      await executor.close();
    }
  });

  test('`wfmesh mcp --stdio` inside the binary speaks MCP on stdout', async () => {
    nats ??= await startTestNats({ useEnv: false });
    const transport = new StdioClientTransport({ command: bin, args: ['mcp', '--stdio', '--nats', nats.url], cwd: dir, env: env({ WFMESH_LOG_LEVEL: 'warn' }), stderr: 'pipe' });
    const client = new Client({ name: 'wfmesh-bin-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      for (const name of ['execute_workflow', 'validate_workflow', 'mesh_status']) assert.ok(tools.some((t) => t.name === name), name);
    } finally {
      await client.close();
    }
  });
});
