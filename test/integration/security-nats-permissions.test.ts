/**
 * Mesh identity with NATS's own tools: `wfmesh auth nats-config` writes per-node and client nkey
 * users with subject permissions; a real nats-server runs with that very file. A client cannot
 * heart-beat, send a step, write a record or pose as a node; a node cannot speak for another;
 * the mesh still runs the example workflows under these permissions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from 'nats';
import { runOnMesh } from '../../src/cli/mesh-run.js';
import { writeMeshAuth, type MeshAuthResult } from '../../src/nats/auth-config.js';
import { connectNats } from '../../src/nats/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { encodeJson } from '../../src/protocol/codec.js';
import { subjects } from '../../src/protocol/subjects.js';
import { cancelInMesh, EXECUTIONS_BUCKET, ExecutionStore, WORKFLOWS_BUCKET } from '../../src/store/index.js';
import { canReadConnections } from '../../src/mesh/connection-watch.js';
import { fetchMeshView } from '../../src/mesh/view-client.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { startOpenAiServer, type OpenAiTestServer } from '../harness/openai-server.js';
import { waitFor } from '../harness/processes.js';

const EXAMPLES = fileURLToPath(new URL('../../config/workflows/', import.meta.url));
const buckets = [EXECUTIONS_BUCKET, WORKFLOWS_BUCKET];
const dir = mkdtempSync(join(tmpdir(), 'wfmesh-perms-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Canned answers by agent, recognised from its system prompt (JSON where the workflow asks for it). */
function answer(system: string, user: string): string {
  if (system.includes('Judge the report')) return JSON.stringify({ verdict: 'accept', notes: 'fine' });
  if (system.includes('Classify the support message')) return JSON.stringify({ category: 'billing', priority: 5, order_id: '4411' });
  if (system.includes('counts per country')) return JSON.stringify({ SE: 2, PT: 1, DE: 1, FR: 1 });
  return `answer to: ${user.slice(0, 40)}`;
}

/** Every status the server sent a connection, so a refusal (permissions violation) can be seen. */
function watchStatus(nc: NatsConnection): { violations: () => string[] } {
  const seen: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as { permissionContext?: { operation: string; subject: string } }).permissionContext;
      if (ctx) seen.push(`${ctx.operation} ${ctx.subject}`);
    }
  })();
  return { violations: () => [...seen] };
}

async function refused(nc: NatsConnection, watch: { violations: () => string[] }, what: string, act: () => void): Promise<void> {
  act();
  await nc.flush();
  await waitFor(`the server refuses ${what}`, () => (watch.violations().some((v) => v.endsWith(what)) ? true : undefined), 5_000);
}

describe('NATS permissions written by `wfmesh auth nats-config`', () => {
  let nats: TestNats;
  let auth: MeshAuthResult;
  let llm: OpenAiTestServer;
  const nodes: MeshNode[] = [];
  let client: NatsConnection;
  let clientWatch: { violations: () => string[] };
  const nodeWatches: { violations: () => string[] }[] = [];
  const seed = (name: string) => auth.users.find((u) => u.name === name)!.seedFile;
  const files = join(dir, 'files');

  before(async () => {
    auth = writeMeshAuth({ nodes: ['perm-a', 'perm-b'], clients: ['cli'], outDir: join(dir, 'auth'), buckets });
    // The generated fragment as an operator would include it (include paths are relative, so inline it here).
    nats = await startTestNats({ extraConfig: readFileSync(auth.configFile, 'utf8'), useEnv: false });
    llm = await startOpenAiServer((req) => ({ content: answer(req.messages.find((m) => m.role === 'system')?.content ?? '', req.messages.at(-1)?.content ?? '') }));
    mkdirSync(join(files, 'project'), { recursive: true });
    writeFileSync(join(files, 'project', 'main.ts'), 'export const x = 1;\n');
    copyFileSync(join(EXAMPLES, 'data', 'customers.json'), join(files, 'customers.json'));
    // perm-a: an EU node with a declared H100 (gpu-inference), perm-b: a US node.
    const configA = join(dir, 'perm-a.yaml');
    writeFileSync(
      configA,
      [
        'name: perm-a',
        'region: eu-west',
        'labels: {tier: fast, data: customer}',
        'hardware: {cpus: 16, memory_mib: 131072, gpus: [{vendor: NVIDIA, model: "NVIDIA H100 80GB HBM3", vram_mib: 81559}]}',
        `llm: {base_url: ${JSON.stringify(llm.url)}, models: [gpt-4o-mini, meta-llama/Llama-3.1-70B-Instruct]}`,
        `allow: {filesystem_root: ${JSON.stringify(files)}}`,
      ].join('\n'),
    );
    nodes.push(await startTestNode(nats.url, { config: configA }, { NATS_NKEY: seed('perm-a') }));
    nodes.push(
      await startTestNode(nats.url, { name: 'perm-b', region: 'us-east' }, { NATS_NKEY: seed('perm-b'), OPENAI_BASE_URL: llm.url, WFMESH_MODEL: 'gpt-4o-mini', WFMESH_FILESYSTEM_ROOT: files }),
    );
    for (const n of nodes) nodeWatches.push(watchStatus(n.nc));
    await waitFor('both nodes see each other', () => (nodes.every((n) => n.registry.list().length === 2) ? true : undefined), 20_000);
    client = await connectNats({ servers: [nats.url], nkey: seed('cli'), inboxPrefix: '_INBOX_cli' }, 'wfmesh:perm-test-client');
    clientWatch = watchStatus(client);
  });

  after(async () => {
    await client?.close();
    await stopAll(nodes);
    await llm?.close();
    await nats?.stop();
  });

  test('the generated file holds one nkey user per node and client, with seeds only the owner may read', () => {
    const text = readFileSync(auth.configFile, 'utf8');
    assert.equal(auth.users.length, 3);
    for (const u of auth.users) {
      assert.match(u.publicKey, /^U[A-Z2-7]{55}$/);
      assert.ok(text.includes(u.publicKey));
      assert.match(readFileSync(u.seedFile, 'utf8'), /^SU[A-Z2-7]{56}\n$/);
    }
    assert.match(text, /"wfmesh\.member\.perm-a\.\*"/);
    // Run again: the same identities are kept, so running nodes need no new seeds.
    const again = writeMeshAuth({ nodes: ['perm-a', 'perm-b'], clients: ['cli'], outDir: join(dir, 'auth'), buckets });
    assert.deepEqual(again.users.map((u) => u.publicKey), auth.users.map((u) => u.publicKey));
    assert.ok(again.users.every((u) => !u.created));
  });

  test('a client cannot publish a membership message, a step request or a KV write; the node stays in the mesh', async () => {
    const [a, b] = nodes as [MeshNode, MeshNode];
    const left = { type: 'wfmesh.member.v1', kind: 'left', id: b.id, name: 'perm-b', incarnation: 1e9 };
    await refused(client, clientWatch, subjects.members('perm-b', b.id), () => client.publish(subjects.members('perm-b', b.id), encodeJson(left)));
    const stepSubject = subjects.step('perm-a', a.id);
    await refused(client, clientWatch, stepSubject, () => {
      client.request(stepSubject, encodeJson({ type: 'wfmesh.step.request.v1' }), { timeout: 2_000 }).catch(() => undefined);
    });
    const kvSubject = `$KV.${EXECUTIONS_BUCKET}.forged`;
    await refused(client, clientWatch, kvSubject, () => client.publish(kvSubject, encodeJson({ status: 'completed' })));
    // Posing as a node: answering discovery or receiving a node's steps is refused too.
    await refused(client, clientWatch, '$SRV.INFO.wfmesh', () => client.subscribe('$SRV.INFO.wfmesh'));
    await refused(client, clientWatch, 'wfmesh.step.perm-a.*', () => client.subscribe('wfmesh.step.perm-a.*'));
    // Nor may it read other connections' replies.
    await refused(client, clientWatch, '_INBOX.>', () => client.subscribe('_INBOX.>'));
    assert.equal(await new ExecutionStore(client).get('forged'), undefined);
    assert.deepEqual(a.registry.list().map((p) => p.name).sort(), ['perm-a', 'perm-b']);
  });

  test("a node's credentials cannot publish another node's goodbye, nor disguise one on its own subject", async () => {
    const [a, b] = nodes as [MeshNode, MeshNode];
    const asA = await connectNats({ servers: [nats.url], nkey: seed('perm-a'), inboxPrefix: '_INBOX_perm-a' }, 'wfmesh:perm-test-as-a');
    const watch = watchStatus(asA);
    try {
      const forged = (name: string) => ({ type: 'wfmesh.member.v1', kind: 'left', id: b.id, name, incarnation: 1e9 });
      await refused(asA, watch, subjects.members('perm-b', b.id), () => asA.publish(subjects.members('perm-b', b.id), encodeJson(forged('perm-b'))));
      // Allowed subject (its own name), but claiming b's id: ignored, b stays.
      asA.publish(subjects.members('perm-a', b.id), encodeJson(forged('perm-a')));
      await asA.flush();
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(a.registry.list().some((p) => p.id === b.id), 'perm-b is still a peer of perm-a');
      assert.ok(b.registry.list().some((p) => p.id === b.id));
    } finally {
      await asA.close();
    }
  });

  test('the mesh runs every example workflow under these permissions, started by a client', async () => {
    const cases: [string, string][] = [
      ['hello.yaml', 'world'],
      ['map-reduce.yaml', 'alpha,beta,gamma'],
      ['langswarm-summarize.yaml', 'A long article.'],
      ['code-review.yaml', 'project'],
      ['research-report.yaml', 'heat pumps'],
      ['triage.yaml', 'My invoice is wrong! Order 4411'],
      ['gpu-inference.yaml', 'Explain KV caching'],
      ['eu-data.yaml', 'customers.json'],
    ];
    const saved = { NATS_NKEY: process.env.NATS_NKEY, NATS_INBOX_PREFIX: process.env.NATS_INBOX_PREFIX };
    process.env.NATS_NKEY = seed('cli');
    process.env.NATS_INBOX_PREFIX = '_INBOX_cli';
    const io = { out: () => undefined, err: () => undefined };
    try {
      for (const [file, input] of cases) {
        const yaml = readFileSync(join(EXAMPLES, file), 'utf8');
        const record = await runOnMesh({ yaml, input, mode: 'distributed', nats: nats.url, signal: new AbortController().signal }, io);
        assert.equal(record.status, 'completed', `${file}: ${JSON.stringify(record.error ?? record.steps.filter((s) => s.status === 'failed'))}`);
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    assert.deepEqual(nodeWatches.flatMap((w) => w.violations()), [], 'the nodes never hit their own permissions');
    assert.deepEqual(clientWatch.violations().filter((v) => !/wfmesh\.member|wfmesh\.step|\$KV|\$SRV\.INFO|_INBOX\.>/.test(v)), [], 'the client only hit what the tests above tried');
  });

  test('a client lists the mesh and the executions, and cancels a running one through its coordinator', async () => {
    const view = await fetchMeshView(client);
    assert.deepEqual(view?.nodes.map((n) => n.name).sort(), ['perm-a', 'perm-b']);
    const page = await new ExecutionStore(client).list({});
    assert.ok(page.executions.length >= 8, `${page.executions.length} executions listed`);
    const saved = { NATS_NKEY: process.env.NATS_NKEY, NATS_INBOX_PREFIX: process.env.NATS_INBOX_PREFIX };
    process.env.NATS_NKEY = seed('cli');
    process.env.NATS_INBOX_PREFIX = '_INBOX_cli';
    try {
      const yaml = 'workflows:\n  slow:\n    steps:\n      - {id: wait, tool: sleep, args: {ms: 60000}}\n';
      const started = await runOnMesh({ yaml, input: '', mode: 'async', nats: nats.url, signal: new AbortController().signal }, { out: () => undefined, err: () => undefined });
      const result = await cancelInMesh(client, new ExecutionStore(client), started.execution_id, 'cancelled by a client', () => true);
      assert.equal(result.status, 'cancelled');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    assert.deepEqual(nodeWatches.flatMap((w) => w.violations()), []);
  });

  test("a node may read the servers' connection lists (the connection watch); a client may not", async () => {
    for (const n of nodes) {
      assert.ok(n.registry.list().every((p) => p.watches_connections === true), `${n.name} sees every node able to watch`);
    }
    assert.equal(await canReadConnections(client), false, 'the client is refused');
    await waitFor('the refusal reported as a permissions violation', () => (clientWatch.violations().some((v) => v.includes(subjects.accountConnections())) ? true : undefined), 5_000);
    assert.deepEqual(nodeWatches.flatMap((w) => w.violations()), [], 'the nodes never hit their own permissions');
  });
});
