/**
 * The README's commands, run exactly as written (through `sh -c` and `npx`, from the clone's
 * root), against a real local mesh: `wfmesh up` joined to a test nats-server that NATS_URL points
 * at. Every `npx wfmesh` line of the README's sh blocks is either run here or listed below with the
 * reason it is not, so a command added to the README cannot go untested unnoticed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'nats';
import { fetchMeshView } from '../../src/mesh/view-client.js';
import type { Advertisement } from '../../src/protocol/advert.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { repoRoot, runToEnd, spawnCli, startProcess, waitFor, type CliProcess } from '../harness/processes.js';

const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** Every command line of the README's ```sh blocks, without its trailing comment. */
function readmeShCommands(): string[] {
  const blocks = [...README.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

const mtime = (path: string): number => (existsSync(path) ? statSync(path).mtimeMs : 0);
function newestMtime(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestMtime(join(dir, e.name)) : mtime(join(dir, e.name)))));
}

/** README commands this test does not run, and why (each must still be in the README). */
const NOT_RUN: Record<string, string> = {
  'npx wfmesh generate "review the TypeScript files in src and write a report" -o review.yaml': 'writes review.yaml into the clone; generate-cli.test.ts covers generate',
  'npx wfmesh run review.yaml': 'runs the file the line above would write',
};

/** The JSON values the README shows in backticks after the workflow commands, in order. */
function documentedOutputs(): unknown[] {
  const after = README.slice(README.indexOf('npx wfmesh run config/workflows/map-reduce.yaml'));
  const paragraph = after.slice(after.indexOf('\n```\n') + 5).trimStart().split('\n\n')[0] ?? '';
  return [...paragraph.matchAll(/`(\{[^`]*\})`/g)].map((m) => JSON.parse(m[1]!) as unknown);
}

describe('the README, run as written', { timeout: 300_000 }, () => {
  let nats: TestNats;
  let up: CliProcess;
  const commands = readmeShCommands().filter((c) => c.startsWith('npx wfmesh '));
  const sh = (line: string) => runToEnd(startProcess('sh', ['-c', line], { cwd: repoRoot, env: { NATS_URL: nats.url, WFMESH_LOG_LEVEL: 'warn' } }), 120_000);
  const find = (pattern: RegExp) => {
    const line = commands.find((c) => pattern.test(c));
    assert.ok(line, `the README has a command matching ${pattern}`);
    return line;
  };

  before(async () => {
    // `npx wfmesh` runs the build in dist/: build it when the sources are newer (a no-op after
    // `npm test`'s set-up). Only tsc: scripts/setup.mjs may also reinstall node_modules.
    if (newestMtime(join(repoRoot, 'src')) > mtime(join(repoRoot, 'dist/cli/main.js'))) {
      const built = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
      assert.equal(built.status, 0, 'the build failed');
    }
    nats = await startTestNats({ useEnv: false });
    // What `npm start` runs once set-up is done; with NATS_URL answering it joins that server.
    up = spawnCli(['up', '--nodes', '3'], { env: { NATS_URL: nats.url } });
    await up.waitFor('wfmesh is up', 120_000);
    const nc = await connect({ servers: nats.url });
    try {
      await waitFor('every node of `wfmesh up` sees the other two', async () => ((await fetchMeshView(nc))?.nodes.length === 3 ? true : undefined), 30_000);
    } finally {
      await nc.close();
    }
  });
  after(async () => {
    await up?.stop();
    await nats?.stop();
  });

  test('every `npx wfmesh` command in the README is run here or listed as not run, with a reason', () => {
    const run = [/^npx wfmesh validate /, /^npx wfmesh run \S+ --mode sync /, /^npx wfmesh run config\/workflows\/map-reduce\.yaml --input /, /^npx wfmesh nodes( --json)?$/];
    for (const c of commands) assert.ok(run.some((r) => r.test(c)) || c in NOT_RUN, `README command not covered by this test: ${c}`);
    for (const c of Object.keys(NOT_RUN)) assert.ok(commands.includes(c), `NOT_RUN lists a command the README no longer has: ${c}`);
  });

  test('validate: every example is valid', async () => {
    const r = await sh(find(/^npx wfmesh validate /));
    assert.equal(r.code, 0, r.stderr);
    const files = readdirSync(join(repoRoot, 'config/workflows')).filter((f) => f.endsWith('.yaml')).sort();
    assert.deepEqual(r.stdout.trim().split('\n').sort(), files.map((f) => `config/workflows/${f}: valid`));
  });

  test('run --mode sync prints what the README says, with no mesh involved', async () => {
    const r = await sh(find(/^npx wfmesh run \S+ --mode sync /));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), documentedOutputs()[0]);
  });

  test('map-reduce on the running mesh prints what the README says, and which node ran each step', async () => {
    const r = await sh(find(/^npx wfmesh run config\/workflows\/map-reduce\.yaml --input /));
    assert.equal(r.code, 0, r.stderr);
    const expected = documentedOutputs()[1] as { items: number };
    assert.equal(expected.items, 3, 'the README documents three items for "a,b,c"');
    assert.deepEqual(JSON.parse(r.stdout), expected);
    assert.match(r.stderr, /execution \S+ started on node-\d \(distributed\)/);
    assert.match(r.stderr, /^reduce\s+completed\s+node-\d/m);
  });

  test('nodes: one row per node, as `npm start` describes them; --json: their advertisements', async () => {
    // "three nodes, `node-1` (eu-west), `node-2` (us-east) and `node-3` (eu-central)"
    const described = [...README.matchAll(/`(node-\d)` \(([a-z]+-[a-z]+)\)/g)].map((m) => [m[1]!, m[2]!] as const);
    assert.equal(described.length, 3);
    const table = await sh(find(/^npx wfmesh nodes$/));
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0] ?? '', /^NAME\s+REGION\s+STATE/);
    assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 3)), described.map(([name, region]) => [name, region, 'running']));
    assert.match(table.stderr, /3 node\(s\), as seen by node-\d/);

    const json = await sh(find(/^npx wfmesh nodes --json$/));
    assert.equal(json.code, 0, json.stderr);
    const nodes = JSON.parse(json.stdout) as Advertisement[];
    assert.deepEqual(nodes.map((n) => [n.name, n.region]), described);
    for (const n of nodes) assert.equal((await fetch(`${n.http_url}/healthz`)).status, 200);
  });
});
