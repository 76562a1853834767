/**
 * Several `wfmesh node` processes on one machine, as a new user starts them: with no port flags
 * they all join and serve (a taken default port moves on to the next free one, and says so); a port
 * the user chose and cannot have stops the node with the message alone, never a stack trace.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileNodeOptions } from '../../src/node/index.js';
import type { Advertisement } from '../../src/protocol/advert.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { runToEnd, spawnCli, waitFor, type CliProcess } from '../harness/processes.js';

/** A stack frame as V8 prints it: "    at fn (file:line:col)". */
const STACK_FRAME = /^\s+at .+:\d+/m;

function holdPort(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

test('only a port nobody chose may move: flags and the config file choose one, the default does not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wfmesh-ports-'));
  try {
    const config = join(dir, 'node.yaml');
    writeFileSync(config, 'mcp: {port: 4100}\n');
    const fallback = (flags: Parameters<typeof compileNodeOptions>[0]) => compileNodeOptions(flags, {}).http.portFallback;
    assert.equal(fallback({}), true, 'the default 4020');
    assert.equal(fallback({ mcpPort: 4020 }), false, '--mcp-port 4020');
    assert.equal(fallback({ config }), false, 'mcp.port in the config file');
    assert.equal(fallback({ noMcp: true }), false, '--no-mcp: port 0, any free one');
    assert.equal(fallback({ mcpPort: 4021, mcpPortFallback: true }), true, 'a default `wfmesh up` picked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('wfmesh node: ports on a shared machine', { timeout: 300_000 }, () => {
  let nats: TestNats;
  const procs: CliProcess[] = [];

  before(async () => {
    nats = await startTestNats();
  });
  after(async () => {
    await Promise.allSettled(procs.map((p) => p.stop(5_000)));
    await nats?.stop();
  });

  test('three nodes with no port flags all join, each on its own HTTP port, and serve', async () => {
    const env = { WFMESH_LOG_FORMAT: 'json' };
    for (let i = 1; i <= 3; i++) procs.push(spawnCli(['node', '--nats', nats.url, '--name', `same-host-${i}`], { env }));
    await Promise.all(procs.map((p) => p.waitFor('node joined the mesh', 120_000)));

    const listed = await waitFor('all three nodes in `wfmesh nodes --json`', async () => {
      const out = await runToEnd(spawnCli(['nodes', '--json', '--nats', nats.url]));
      const nodes = JSON.parse(out.stdout || '[]') as Advertisement[];
      return nodes.filter((n) => n.name.startsWith('same-host-')).length === 3 ? nodes : undefined;
    }, 30_000);
    const urls = listed.map((n) => n.http_url);
    assert.equal(new Set(urls).size, 3, `three distinct HTTP ports: ${urls.join(', ')}`);
    for (const n of listed) {
      assert.equal((await fetch(`${n.http_url}/healthz`)).status, 200, `${n.name} serves /healthz`);
      assert.equal(n.mcp_url, `${n.http_url}/mcp`);
    }
    // A node that stepped aside says which port it took instead (whichever of the three lost the race).
    const moved = procs.map((p) => p.stderr()).filter((e) => /HTTP port \d+ is taken: using \d+/.test(e));
    const onDefault = listed.filter((n) => n.http_url === 'http://127.0.0.1:4020').length;
    assert.equal(moved.length, 3 - onDefault, 'every node off the default port logged the port it took');
    for (const p of procs) assert.doesNotMatch(p.stderr(), STACK_FRAME);
  });

  test('a port chosen with --mcp-port that is taken stops the node with the message alone', async () => {
    const taken = await holdPort();
    try {
      const port = (taken.address() as { port: number }).port;
      const out = await runToEnd(spawnCli(['node', '--nats', nats.url, '--name', 'chosen-port', '--mcp-port', String(port)], { env: { WFMESH_LOG_LEVEL: 'silent' } }), 60_000);
      assert.equal(out.code, 1, out.stderr);
      assert.match(out.stderr, new RegExp(`wfmesh node: HTTP port 127\\.0\\.0\\.1:${port} is already in use \\(choose another with --mcp-port, or --no-mcp\\)`));
      assert.doesNotMatch(out.stderr, STACK_FRAME, 'no stack trace under the message');
    } finally {
      taken.close();
    }
  });

  test('a config file that is missing stops the node with the message alone', async () => {
    const out = await runToEnd(spawnCli(['node', '--nats', nats.url, '--config', '/nonexistent/wfmesh.yaml']), 60_000);
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stderr, /wfmesh node: .*\/nonexistent\/wfmesh\.yaml/);
    assert.doesNotMatch(out.stderr, STACK_FRAME);
  });
});
