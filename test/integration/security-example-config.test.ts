/**
 * The secured nats-server config that docs/security.md prints (deploy/secure/nats-server.conf)
 * runs on a real nats-server with certificates made here, and the example secured node
 * (config/nodes/secured-node.yaml) joins it over TLS with a bcrypt-hashed password.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log/index.js';
import { listServiceInstances } from '../../src/mesh/view-client.js';
import { connectNats, findNatsServerBinary, freePort } from '../../src/nats/index.js';
import { compileNodeOptions, startNode, type MeshNode } from '../../src/node/index.js';
import { MeshError } from '../../src/protocol/errors.js';
import { repoRoot, waitFor } from '../harness/processes.js';
import { makeTestPki, type TestPki } from './security-certs.js';

const EXAMPLE = join(repoRoot, 'deploy/secure/nats-server.conf');
const NODE_CONFIG = join(repoRoot, 'config/nodes/secured-node.yaml');
const PASSWORD = 'change-me-please'; // the one the example's bcrypt hashes stand for

interface Ports {
  client: number;
  monitor: number;
  route: number;
}

/** The example as server `i` (1..3) of a loopback cluster in this test's folders; each rewrite must apply. */
function localise(text: string, i: number, all: Ports[], pki: TestPki, store: string): string {
  const own = all[i - 1]!;
  const rewrites: [string, string][] = [
    ['server_name: nats-eu-1', `server_name: nats-eu-${i}`],
    ['/etc/nats/tls/', `${pki.dir}/`],
    ['/var/lib/nats/jetstream', store],
    ['0.0.0.0:4222', `127.0.0.1:${own.client}`],
    ['127.0.0.1:8222', `127.0.0.1:${own.monitor}`],
    ['0.0.0.0:6222', `127.0.0.1:${own.route}`],
    // A server ignores a route to itself, so every server may keep the same two routes.
    ['nats-eu-2.internal:6222', `127.0.0.1:${all[1]!.route}`],
    ['nats-eu-3.internal:6222', `127.0.0.1:${all[2]!.route}`],
  ];
  let out = text;
  for (const [from, to] of rewrites) {
    assert.ok(out.includes(from), `the example config mentions ${from}`);
    out = out.split(from).join(to);
  }
  return out;
}

describe('the secured-mesh example (deploy/secure/nats-server.conf)', { timeout: 120_000 }, () => {
  let dir: string;
  let pki: TestPki;
  const servers: ChildProcess[] = [];
  let url: string;
  let monitor: string;
  let node: MeshNode | undefined;

  // Three servers, as the example describes: JetStream needs its cluster's quorum to be healthy.
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wfmesh-secure-example-'));
    pki = makeTestPki(join(dir, 'tls'));
    const example = readFileSync(EXAMPLE, 'utf8');
    const logOf = (i: number) => join(dir, `nats-eu-${i}.log`);
    // The ports are free a moment before the servers bind them, and a loopback connection of a test
    // running beside this one can take one meanwhile: that server exits at once ("address already
    // in use"), and the three start again on new ports.
    for (let attempt = 1; ; attempt++) {
      const ports: Ports[] = [];
      for (let i = 0; i < 3; i++) ports.push({ client: await freePort('127.0.0.1'), monitor: await freePort('127.0.0.1'), route: await freePort('127.0.0.1') });
      for (let i = 1; i <= 3; i++) {
        const conf = join(dir, `nats-eu-${i}.conf`);
        writeFileSync(conf, localise(example, i, ports, pki, join(dir, `js-${i}`)));
        writeFileSync(logOf(i), '');
        servers.push(spawn(findNatsServerBinary(), ['-c', conf, '-l', logOf(i)], { stdio: 'ignore' }));
      }
      url = `tls://127.0.0.1:${ports[0]!.client}`;
      monitor = `http://127.0.0.1:${ports[0]!.monitor}`;
      const healthy = (p: Ports) => fetch(`http://127.0.0.1:${p.monitor}/healthz`).then((r) => r.ok, () => false);
      const outcome = await waitFor('the three nats-servers healthy (/healthz)', async () => {
        if (servers.some((s) => s.exitCode !== null || s.signalCode !== null)) return 'exited';
        for (const p of ports) if (!(await healthy(p))) return undefined;
        return 'healthy';
      }, 60_000);
      if (outcome === 'healthy') return;
      const logs = [1, 2, 3].map((i) => readFileSync(logOf(i), 'utf8')).join('\n');
      await stopServers();
      if (attempt >= 3 || !/address already in use/.test(logs)) throw new Error(`a nats-server of the example exited at start:\n${logs.slice(-2_000)}`);
      for (let i = 1; i <= 3; i++) rmSync(join(dir, `js-${i}`), { recursive: true, force: true });
    }
  });

  /** Stops the servers started so far and waits for each to exit. */
  async function stopServers(): Promise<void> {
    // Wait for each server to exit: one still flushing JetStream would race the folder's removal.
    await Promise.all(servers.splice(0).map((s) => (s.exitCode !== null || s.signalCode !== null ? undefined : new Promise((resolve) => {
      s.once('exit', resolve);
      s.kill('SIGTERM');
    }))));
  }

  after(async () => {
    await node?.stop();
    await stopServers();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  test('README.md ("Securing a mesh") and docs/security.md print the example config verbatim', () => {
    const example = readFileSync(EXAMPLE, 'utf8').trim();
    for (const file of ['README.md', 'docs/security.md']) {
      const doc = readFileSync(join(repoRoot, file), 'utf8');
      assert.ok(doc.includes(example), `${file} and deploy/secure/nats-server.conf differ`);
    }
    assert.match(readFileSync(join(repoRoot, 'README.md'), 'utf8'), /^## Securing a mesh$/m);
  });

  test('the servers require TLS and log in, route to each other over TLS, and run JetStream (/varz, /routez, /jsz)', async () => {
    const varz = (await (await fetch(`${monitor}/varz`)).json()) as { tls_required?: boolean; auth_required?: boolean; cluster?: { name?: string } };
    assert.equal(varz.tls_required, true);
    assert.equal(varz.auth_required, true);
    assert.equal(varz.cluster?.name, 'wfmesh-eu');
    type Jsz = { config?: { store_dir?: string }; meta_cluster?: { leader?: string } };
    const jsz = await waitFor('a JetStream meta leader', async () => {
      const j = (await (await fetch(`${monitor}/jsz`)).json()) as Jsz;
      return j.meta_cluster?.leader ? j : undefined;
    }, 30_000);
    assert.ok(jsz.config?.store_dir?.startsWith(join(dir, 'js-1')));
    assert.match(jsz.meta_cluster?.leader ?? '', /^nats-eu-[123]$/, 'the JetStream cluster elected a leader');
    // Routes come up a moment after /healthz: wait for both, do not race them.
    await waitFor('two TLS routes', async () => (((await (await fetch(`${monitor}/routez`)).json()) as { num_routes?: number }).num_routes === 2 ? true : undefined), 30_000);
  });

  test('the example secured node joins with NATS_PASS and our CA, and is discoverable via $SRV', async () => {
    const options = compileNodeOptions(
      { config: NODE_CONFIG, nats: url, mcpPort: 0 },
      { NATS_PASS: PASSWORD, NATS_TLS_CA: pki.ca, WFMESH_MCP_TOKEN: 'mcp-secret' },
    );
    assert.equal(options.nats.user, 'wfmesh');
    assert.equal(options.http.token, 'mcp-secret');
    node = await startNode(options, silentLogger());
    const health = await fetch(`${node.http.url}/healthz`);
    assert.equal(health.status, 200);

    const nc = await connectNats({ servers: [url], user: 'wfmesh', pass: PASSWORD, tls: { ca: pki.ca } }, 'wfmesh:secure-example-test');
    try {
      const ids = await waitFor('the node in $SRV.INFO.wfmesh', async () => {
        const found = await listServiceInstances(nc, 1_000);
        return found.some((n) => n.id === node!.id) ? found : undefined;
      });
      assert.ok(ids.some((n) => n.id === node!.id && n.name === node!.name));
    } finally {
      await nc.close();
    }
  });

  test('a wrong password, or plain text, is refused with a clear error', async () => {
    await assert.rejects(connectNats({ servers: [url], user: 'wfmesh', pass: 'nope', tls: { ca: pki.ca } }, 't'), (err: unknown) => {
      assert.ok(err instanceof MeshError);
      assert.equal(err.code, 'NATS_AUTH');
      return true;
    });
    await assert.rejects(connectNats({ servers: [url], user: 'wfmesh', pass: PASSWORD }, 't'), (err: unknown) => {
      assert.ok(err instanceof MeshError);
      assert.match(err.message, /TLS with NATS .* failed/);
      return true;
    });
  });
});
