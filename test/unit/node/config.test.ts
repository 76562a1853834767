import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNodeConfig } from '../../../src/node/config.js';
import { compileNodeOptions } from '../../../src/node/options.js';
import { MeshError } from '../../../src/protocol/errors.js';

test('a full config file parses', () => {
  const cfg = parseNodeConfig(
    `name: gpu-1
region: eu-west
labels: {tier: fast}
max_concurrency: 8
nats: {servers: [nats://127.0.0.1:4222], token: s3cret}
mcp: {port: 4020, host: 127.0.0.1}
hardware:
  gpus: [{vendor: NVIDIA, model: "NVIDIA H100 80GB HBM3", vram_mib: 81559}]
llm: {models: [gpt-4o-mini]}
tools: [filesystem, http, transform, echo, sleep]
allow: {filesystem_root: ./data, http_hosts: [api.example.com], shell_commands: []}
`,
    'gpu.yaml',
  );
  assert.equal(cfg.hardware?.gpus?.[0]?.vram_mib, 81559);
});

test('an unknown key or a wrong type names the file, the path and the line', () => {
  const run = (text: string) => {
    try {
      parseNodeConfig(text, 'node.yaml');
    } catch (err) {
      assert.ok(err instanceof MeshError);
      return err.message;
    }
    assert.fail('expected an error');
  };
  assert.match(run('name: a\nregoin: eu\n'), /node\.yaml:2: regoin: Unrecognized key/);
  assert.match(run('name: a\nmax_concurrency: lots\n'), /node\.yaml:2: max_concurrency: .*number/);
  assert.match(run('nats:\n  servers: [a]\n  tls: {ca: x, cart: y}\n'), /node\.yaml:3: nats\.tls\.cart/);
  assert.match(run('name: [unclosed\n'), /node\.yaml:\d+: invalid YAML/);
});

test('flags beat env, env beats the config file', () => {
  const env = { WFMESH_REGION: 'us-east', NATS_URL: 'nats://env:4222', WFMESH_LABELS: 'a=1,b=2' };
  const o = compileNodeOptions({ region: 'eu-west', labels: ['b=3'] }, env);
  assert.equal(o.region, 'eu-west');
  assert.deepEqual(o.nats.servers, ['nats://env:4222']);
  assert.deepEqual(o.labels, { a: '1', b: '3' });
  const o2 = compileNodeOptions({ nats: 'nats://x:1,nats://y:2' }, env);
  assert.deepEqual(o2.nats.servers, ['nats://x:1', 'nats://y:2']);
  assert.equal(o2.region, 'us-east');
});

test('a bad label or name is a usage error naming it', () => {
  assert.throws(() => compileNodeOptions({ labels: ['novalue'] }, {}), /label "novalue" must look like key=value/);
  assert.throws(() => compileNodeOptions({ name: 'bad name' }, {}), /--name "bad name"/);
});

test('the heartbeat interval sets the dead-after time (2.5 beats)', () => {
  assert.equal(compileNodeOptions({}, {}).deadAfterMs, 2_500);
  assert.equal(compileNodeOptions({}, { WFMESH_HEARTBEAT_MS: '200' }).deadAfterMs, 500);
});

test('the idle probe period defaults to two heartbeats; WFMESH_IDLE_PROBE_MS and idle_probe_ms set it', () => {
  assert.equal(compileNodeOptions({}, {}).idleProbeMs, 2_000);
  assert.equal(compileNodeOptions({}, { WFMESH_HEARTBEAT_MS: '200' }).idleProbeMs, 400);
  assert.equal(compileNodeOptions({}, { WFMESH_IDLE_PROBE_MS: '500' }).idleProbeMs, 500);
  assert.equal(parseNodeConfig('idle_probe_ms: 2000\n', 'node.yaml').idle_probe_ms, 2_000);
  assert.throws(() => parseNodeConfig('idle_probe_ms: 5\n', 'node.yaml'), /idle_probe_ms/);
  assert.throws(() => compileNodeOptions({}, { WFMESH_IDLE_PROBE_MS: 'soon' }), /WFMESH_IDLE_PROBE_MS/);
});

test('the watched probe period defaults to ten idle periods; the connection watch is on unless turned off', () => {
  assert.equal(compileNodeOptions({}, {}).watchedProbeMs, 20_000);
  assert.equal(compileNodeOptions({}, { WFMESH_IDLE_PROBE_MS: '500' }).watchedProbeMs, 5_000);
  assert.equal(compileNodeOptions({}, { WFMESH_WATCHED_PROBE_MS: '30000' }).watchedProbeMs, 30_000);
  assert.equal(parseNodeConfig('watched_probe_ms: 20000\n', 'node.yaml').watched_probe_ms, 20_000);
  assert.equal(compileNodeOptions({}, {}).connectionWatch, true);
  assert.equal(compileNodeOptions({}, { WFMESH_CONNECTION_WATCH: 'off' }).connectionWatch, false);
  assert.equal(compileNodeOptions({}, { WFMESH_CONNECTION_WATCH: '1' }).connectionWatch, true);
  assert.equal(parseNodeConfig('connection_watch: false\n', 'node.yaml').connection_watch, false);
  assert.throws(() => compileNodeOptions({}, { WFMESH_CONNECTION_WATCH: 'maybe' }), /WFMESH_CONNECTION_WATCH must be on or off/);
  assert.throws(() => parseNodeConfig('connection_watch: sometimes\n', 'node.yaml'), /connection_watch/);
});

test('--advertise-host (or WFMESH_ADVERTISE_HOST) names the host peers should use', () => {
  assert.equal(compileNodeOptions({ mcpHost: '0.0.0.0', advertiseHost: 'wfmesh-eu' }, {}).http.advertiseHost, 'wfmesh-eu');
  assert.equal(compileNodeOptions({}, { WFMESH_ADVERTISE_HOST: 'edge-1' }).http.advertiseHost, 'edge-1');
  assert.equal(compileNodeOptions({}, {}).http.advertiseHost, undefined);
});
