/**
 * The dashboard in a real browser (headless Chromium) against a real 3-node mesh: the mesh view
 * lists the nodes and drops a killed one without a reload; a map-reduce execution shows its graph
 * (every step with its node and status) and its timeline; the cancel button cancels a running
 * execution; with a token set, the page without it shows only the sign-in.
 * WFMESH_UPDATE_SCREENSHOTS=1 writes the screenshots into docs/ (the README shows them);
 * otherwise they go to a temporary folder.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import type { MeshNode } from '../../src/node/index.js';
import { chromiumMissing, launchChromium } from '../harness/browser.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode } from '../harness/nodes.js';
import { repoRoot, spawnCli, type CliProcess } from '../harness/processes.js';
import { call, connectHttp, mcpUrl, sleepWorkflow, structured, until, type ExecutionView } from './mcp-helpers.js';

const missing = chromiumMissing();
// Heartbeats fast enough that a dead node goes within the 5 s the issue asks for (dropped after
// 2.5 of them), slow enough that a busy test machine does not declare a live node dead.
const ENV = { WFMESH_HEARTBEAT_MS: '800' };
const TOKEN = 'dashboard-test-token';
const shots = process.env.WFMESH_UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs') : mkdtempSync(join(tmpdir(), 'wfmesh-shots-'));

let nats: TestNats;
let browser: Browser;
let a: MeshNode;
let client: Client;
const procs: CliProcess[] = [];
const byName = new Map<string, CliProcess>();
const nodes: MeshNode[] = [];

before(async () => {
  if (missing) return;
  nats = await startTestNats();
  a = await startTestNode(nats.url, { name: 'dash-a', region: 'eu-west', labels: ['tier=fast'] }, ENV);
  nodes.push(a);
  // One after the other: two tsx start-ups at once on a busy 2-core machine can miss NATS's 5 s handshake.
  await spawnNode('dash-b', 'us-east', ['--config', gpuConfig()]);
  await spawnNode('dash-c', 'eu-west');
  await until('dash-a sees three nodes', async () => a.registry.size === 3, 30_000);
  client = await connectHttp(mcpUrl(a));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await client?.close().catch(() => undefined);
  for (const p of procs) p.kill('SIGKILL');
  await Promise.allSettled(nodes.map((n) => n.stop()));
  await nats?.stop();
  if (!shots.startsWith(repoRoot)) rmSync(shots, { recursive: true, force: true });
});

/** `wfmesh node` in its own process (so it can be killed with SIGKILL). */
async function spawnNode(name: string, region: string, extra: string[] = [], tries = 2): Promise<CliProcess> {
  const proc = spawnCli(['node', '--nats', nats.url, '--name', name, '--region', region, '--mcp-port', '0', ...extra], { env: { ...ENV, WFMESH_LOG_LEVEL: 'info' } });
  procs.push(proc);
  try {
    await proc.waitFor('node joined the mesh', 120_000);
  } catch (err) {
    // A starved machine (CPU contention) can miss the NATS handshake deadline: one more try.
    if (tries > 1 && proc.stderr().includes('no NATS handshake')) return spawnNode(name, region, extra, tries - 1);
    throw err;
  }
  byName.set(name, proc);
  return proc;
}

/** A node config that declares a GPU (as an operator does where the probe cannot see one). */
function gpuConfig(): string {
  const file = join(nats.workDir, 'gpu-node.yaml');
  writeFileSync(file, 'hardware:\n  gpus: [{vendor: NVIDIA, model: "NVIDIA H100 80GB HBM3", vram_mib: 81559}]\n');
  return file;
}

async function openPage(url: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (err) => process.stderr.write(`[page error] ${err.message}\n`));
  await page.goto(url);
  return page;
}

const card = (page: Page, name: string) => page.locator(`.card[data-node-name="${name}"]`);

test('the mesh view lists the nodes by region, and a node killed with -9 disappears without a reload', { skip: missing }, async () => {
  const page = await openPage(`${a.http.url}/`);
  for (const name of ['dash-a', 'dash-b', 'dash-c']) await card(page, name).waitFor();
  assert.equal(await page.locator('.card').count(), 3);
  const regions = await Promise.all((await page.locator('.region').all()).map((r) => r.getAttribute('data-region')));
  assert.deepEqual(regions, ['eu-west', 'us-east']);
  const first = card(page, 'dash-a');
  assert.match(await first.innerText(), /tier=fast/);
  assert.match(await first.innerText(), /cores/);
  assert.match(await first.locator('[data-field="tools"]').innerText(), /echo/);
  assert.match(await card(page, 'dash-b').locator('[data-field="gpus"]').innerText(), /NVIDIA H100 80GB HBM3 \(80 GiB, declared\)/);
  assert.equal(await page.locator('#live').getAttribute('data-state'), 'live');
  await page.screenshot({ path: join(shots, 'dashboard-mesh.png') });

  // Narrow screens: nothing overflows sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  // (Expressions as strings: the tests are compiled without the DOM's types.)
  assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, 'no horizontal scroll at phone width');
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.evaluate('window.marker = 42');
  const c = byName.get('dash-c');
  assert.ok(c);
  process.kill(c.pid, 'SIGKILL');
  // The bound: gone within 5 s, over the live stream (the marker proves no reload).
  await card(page, 'dash-c').waitFor({ state: 'detached', timeout: 5_000 });
  assert.equal(await page.evaluate('window.marker'), 42);
  assert.equal(await page.locator('.card').count(), 2);
  await page.close();
});

test('a map-reduce execution shows its step graph, each step with its node and status, and a timeline', { skip: missing }, async () => {
  const yaml = readFileSync(join(repoRoot, 'config/workflows/map-reduce.yaml'), 'utf8');
  const done = structured<ExecutionView>(await call(client, 'execute_workflow', { yaml, input: 'alpha,beta,gamma,delta', mode: 'distributed' }));
  assert.equal(done.status, 'completed', JSON.stringify(done).slice(0, 2000));

  const page = await openPage(`${a.http.url}/#/executions`);
  const row = page.locator(`tr[data-execution="${done.execution_id}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /completed/);
  assert.match(await row.innerText(), /map_reduce/);
  await row.locator('a').click();
  await page.locator('#graph g.step').first().waitFor();

  const record = (await (await fetch(`${a.http.url}/dashboard/api/executions/${done.execution_id}`)).json()) as {
    record: { steps: { id: string; status: string; node?: string; started_at?: string }[] };
    graph: { edges: unknown[] };
  };
  assert.ok(record.record.steps.length >= 8, 'split, map, its iterations, stats, reduce, report');
  for (const s of record.record.steps) {
    const box = page.locator(`#graph g.step[data-step="${s.id}"]`);
    assert.equal(await box.getAttribute('data-status'), s.status, `step ${s.id} status`);
    const where = await box.locator('.step-where').textContent();
    assert.ok(where?.includes(s.status), `step ${s.id} shows its status: ${where}`);
    if (s.node) assert.ok(where?.includes(s.node), `step ${s.id} shows its node ${s.node}: ${where}`);
  }
  assert.ok(record.graph.edges.length > 0, 'the graph has edges');
  assert.equal(await page.locator('#graph path.edge').count(), record.graph.edges.length);
  const started = record.record.steps.filter((s) => s.node && s.started_at).length;
  assert.equal(await page.locator('#timeline rect.bar').count(), started, 'one bar per attempt');
  const lanes = await page.locator('#timeline .lane-label').allTextContents();
  assert.deepEqual(lanes, [...new Set(record.record.steps.flatMap((s) => (s.node && s.started_at ? [s.node] : [])))].sort());
  assert.equal(await page.locator('#execution-status .badge').textContent(), 'completed');
  await page.screenshot({ path: join(shots, 'dashboard-execution.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(shots, 'dashboard-execution-dark.png') });
  await page.close();
});

test('the cancel button cancels a running execution', { skip: missing }, async () => {
  const started = structured<ExecutionView>(await call(client, 'execute_workflow', { yaml: sleepWorkflow(120_000), input: 'x', mode: 'async' }));
  const page = await openPage(`${a.http.url}/#/executions/${started.execution_id}`);
  await page.locator('#graph g.step[data-status="running"]').waitFor({ timeout: 30_000 });
  await page.locator('#execution-status .badge', { hasText: 'running' }).waitFor();
  page.once('dialog', (d) => void d.accept());
  await page.locator('#cancel').click();
  await page.locator('#execution-status .badge', { hasText: 'cancelled' }).waitFor({ timeout: 15_000 });
  const seen = structured<ExecutionView>(await call(client, 'get_execution', { execution_id: started.execution_id }));
  assert.equal(seen.status, 'cancelled');
  assert.equal(await page.locator('#cancel').isHidden(), true, 'no cancel button on a finished execution');
  await page.close();
});

test('with a token set, the page without it shows the sign-in and no data; with it, the mesh', { skip: missing }, async () => {
  const guarded = await startTestNode(nats.url, { name: 'dash-t', region: 'eu-west' }, { ...ENV, WFMESH_MCP_TOKEN: TOKEN });
  nodes.push(guarded);
  const api = `${guarded.http.url}/dashboard/api`;
  assert.equal((await fetch(`${api}/mesh`)).status, 401);
  assert.equal((await fetch(`${api}/executions`)).status, 401);
  assert.equal((await fetch(`${api}/events`)).status, 401);
  assert.equal((await fetch(`${api}/mesh`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);

  const page = await openPage(`${guarded.http.url}/#/executions`);
  await page.locator('#signin').waitFor();
  assert.equal(await page.locator('#view-executions').isHidden(), true);
  assert.equal(await page.locator('.card').count(), 0);
  assert.equal(await page.locator('#executions-body tr').count(), 0);
  await page.locator('#token').fill('wrong');
  await page.locator('#signin button').click();
  await page.locator('#signin-error', { hasText: 'refused' }).waitFor();
  await page.locator('#token').fill(TOKEN);
  await page.locator('#signin button').click();
  await page.locator('#executions-body tr').first().waitFor();
  await page.goto(`${guarded.http.url}/#/mesh`);
  await card(page, 'dash-t').waitFor();
  await page.close();
});

test('the node serves the page, its script and its style sheet itself (nothing from another origin)', { skip: missing }, async () => {
  const html = await (await fetch(`${a.http.url}/`)).text();
  assert.match(html, /<script src="\/dashboard\/app\.js"/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no asset from another origin');
  const js = await fetch(`${a.http.url}/dashboard/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.ok((await js.text()).length > 10_000, 'the bundled page script (with the layout library)');
  if (shots.startsWith(repoRoot)) for (const f of ['dashboard-mesh.png', 'dashboard-execution.png']) assert.ok(statSync(join(shots, f)).size > 10_000);
});
