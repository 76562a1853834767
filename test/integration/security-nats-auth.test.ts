/**
 * A secured mesh: nodes authenticate to real nats-server processes that require a token,
 * user/password (flags, env and the config file), an nkey, a .creds file (operator mode) or
 * mutual TLS. Wrong or missing credentials end the node at once with a clear message.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys, type NatsConnection } from 'nats';
import { connectNats, type NatsConnectionSettings } from '../../src/nats/index.js';
import { compileNatsSettings } from '../../src/node/index.js';
import { MeshError } from '../../src/protocol/errors.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { runToEnd, spawnCli, waitFor } from '../harness/processes.js';
import { makeTestPki } from './security-certs.js';
import { makeOperatorSetup } from './security-jwt.js';

const dir = mkdtempSync(join(tmpdir(), 'wfmesh-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The runner's own NATS settings must not leak into the nodes under test.
const CLEAN_ENV: NodeJS.ProcessEnv = {
  NATS_URL: undefined,
  NATS_TOKEN: undefined,
  NATS_USER: undefined,
  NATS_PASS: undefined,
  NATS_CREDS: undefined,
  NATS_NKEY: undefined,
  NATS_TLS_CA: undefined,
  NATS_TLS_CERT: undefined,
  NATS_TLS_KEY: undefined,
};

/** `wfmesh node` joins: it logs so, and stops cleanly on SIGTERM. */
async function assertJoins(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const node = spawnCli(['node', '--no-mcp', '--name', `sec-${process.pid}`, ...args], { env: { ...CLEAN_ENV, ...env } });
  try {
    await waitFor('"node joined the mesh"', () => (node.stderr().includes('"node joined the mesh"') ? true : undefined), 60_000);
  } finally {
    const exit = await node.stop();
    assert.equal(exit.code, 0, node.stderr());
  }
}

/** `wfmesh node` fails by itself (no hang), exit code 1, with `message` on stderr. */
async function assertRefused(t: TestContext, args: string[], env: NodeJS.ProcessEnv, message: RegExp): Promise<void> {
  const started = Date.now();
  const res = await runToEnd(spawnCli(['node', '--no-mcp', ...args], { env: { ...CLEAN_ENV, ...env } }), 30_000);
  t.diagnostic(`exited with ${res.code} after ${Date.now() - started} ms (including tsx start-up)`);
  assert.equal(res.killed, false, `the node hung instead of exiting:\n${res.stderr}`);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, message);
}

async function expectMeshError(settings: NatsConnectionSettings, code: string, message: RegExp): Promise<void> {
  await assert.rejects(connectNats(settings, 'wfmesh:security-test'), (err: unknown) => {
    assert.ok(err instanceof MeshError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

async function roundTrip(nc: NatsConnection): Promise<void> {
  const sub = nc.subscribe('security.echo', { callback: (_err, msg) => msg.respond(msg.data) });
  const reply = await nc.request('security.echo', new TextEncoder().encode('hi'), { timeout: 2_000 });
  assert.equal(new TextDecoder().decode(reply.data), 'hi');
  sub.unsubscribe();
  await nc.close();
}

describe('NATS token authentication', () => {
  let nats: TestNats;
  const token = 'mesh-token-4f1c9a';
  test('setup: a nats-server that requires a token', async () => {
    nats = await startTestNats({ extraConfig: `authorization { token: "${token}" }`, useEnv: false });
  });
  after(() => nats?.stop());

  test('a node with NATS_TOKEN joins', async () => {
    await assertJoins(['--nats', nats.url], { NATS_TOKEN: token });
  });

  test('a wrong token: the node exits 1 at once, naming the problem', async (t) => {
    await assertRefused(t, ['--nats', nats.url], { NATS_TOKEN: 'not-the-token' }, /refused our credentials/);
  });

  test('no token at all: the same clear refusal', async (t) => {
    await assertRefused(t, ['--nats', nats.url], {}, /refused our credentials/);
  });

  test('a tls:// URL insists on TLS: a server without it is an error, not plain text', async () => {
    const url = nats.url.replace('nats://', 'tls://');
    await expectMeshError({ servers: [url], token }, 'NATS_CONNECT', /does not offer TLS/);
  });
});

describe('NATS user/password and nkey authentication', () => {
  let nats: TestNats;
  const user = nkeys.createUser();
  const stranger = nkeys.createUser();
  const seedFile = join(dir, 'node.nk');
  const strangerSeed = join(dir, 'stranger.nk');
  const configFile = join(dir, 'node.yaml');

  test('setup: a nats-server with a password user and an nkey user', async () => {
    writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()));
    writeFileSync(strangerSeed, new TextDecoder().decode(stranger.getSeed()));
    nats = await startTestNats({
      extraConfig: `authorization { users: [ { user: "wfmesh", password: "s3cret-pass" }, { nkey: "${user.getPublicKey()}" } ] }`,
      useEnv: false,
    });
    writeFileSync(configFile, `name: sec-config-node\nnats:\n  servers: ["${nats.url}"]\n  user: wfmesh\n  pass: s3cret-pass\n`);
  });
  after(() => nats?.stop());

  test('user and password from the config file: the node joins', async () => {
    await assertJoins(['--config', configFile], {});
  });

  test('NATS_USER/NATS_PASS from the environment: the node joins', async () => {
    await assertJoins(['--nats', nats.url], { NATS_USER: 'wfmesh', NATS_PASS: 's3cret-pass' });
  });

  test('a wrong NATS_PASS beats the right one in the file and is refused at once', async (t) => {
    await assertRefused(t, ['--config', configFile], { NATS_PASS: 'wrong' }, /refused our credentials/);
  });

  test('an nkey seed file (NATS_NKEY / nats.nkey) signs the server nonce', async () => {
    const settings = compileNatsSettings(nats.url, { NATS_NKEY: seedFile });
    assert.equal(settings.nkey, seedFile);
    await roundTrip(await connectNats(settings, 'wfmesh:nkey-test'));
    await expectMeshError({ servers: [nats.url], nkey: strangerSeed }, 'NATS_AUTH', /refused our credentials/);
  });

  test('a file that holds no nkey seed is a config error naming the file', async () => {
    await expectMeshError({ servers: [nats.url], nkey: configFile }, 'CONFIG_INVALID', /nats\.nkey: .*node\.yaml/);
  });
});

describe('NATS .creds files (operator mode, JWT)', () => {
  let nats: TestNats;
  const setup = makeOperatorSetup();
  const creds = join(dir, 'node.creds');
  const strangerCreds = join(dir, 'stranger.creds');

  test('setup: a nats-server in operator mode', async () => {
    writeFileSync(creds, setup.userCreds);
    writeFileSync(strangerCreds, setup.strangerCreds);
    nats = await startTestNats({ extraConfig: setup.serverConfig, jetstream: false, useEnv: false });
  });
  after(() => nats?.stop());

  test('a user .creds file from NATS_CREDS connects; one from an unknown account is refused', async () => {
    const settings = compileNatsSettings(nats.url, { NATS_CREDS: creds });
    await roundTrip(await connectNats(settings, 'wfmesh:creds-test'));
    await expectMeshError({ servers: [nats.url], creds: strangerCreds }, 'NATS_AUTH', /refused our credentials/);
    await expectMeshError({ servers: [nats.url] }, 'NATS_AUTH', /refused our credentials/);
  });

  test('a missing .creds file is a config error before any connection', async () => {
    await expectMeshError({ servers: [nats.url], creds: join(dir, 'nope.creds') }, 'CONFIG_INVALID', /nats\.creds: cannot read/);
  });
});

describe('NATS over mutual TLS (certificates made by the test)', () => {
  let nats: TestNats;
  const pki = makeTestPki(join(dir, 'pki'));
  const tlsEnv = { NATS_TLS_CA: pki.ca, NATS_TLS_CERT: pki.clientCert, NATS_TLS_KEY: pki.clientKey };

  test('setup: a nats-server that requires TLS and a client certificate', async () => {
    nats = await startTestNats({
      extraConfig: `tls { cert_file: "${pki.serverCert}", key_file: "${pki.serverKey}", ca_file: "${pki.ca}", verify: true, timeout: 2 }`,
      useEnv: false,
    });
  });
  after(() => nats?.stop());

  test('a node with CA, client certificate and key (env) joins over tls://', async () => {
    await assertJoins(['--nats', nats.url.replace('nats://', 'tls://')], tlsEnv);
  });

  test('without our CA the server certificate is not trusted: the node exits 1 with the reason', async (t) => {
    await assertRefused(t, ['--nats', nats.url.replace('nats://', 'tls://')], { NATS_TLS_CERT: pki.clientCert, NATS_TLS_KEY: pki.clientKey }, /TLS with NATS .* failed \(.*certificate/);
  });

  test('without a client certificate the server turns us away', async () => {
    await expectMeshError({ servers: [nats.url], tls: { ca: pki.ca } }, 'NATS_CONNECT', /TLS client certificate|TLS .* failed/);
  });
});
