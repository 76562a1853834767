/**
 * docker-compose.yml, checked against what the code accepts (this machine cannot run Docker):
 * every nats-server config and command is tried by a real `nats-server -t`, every wfmesh command
 * goes through the real CLI option specs and compileNodeOptions, and every port, route and
 * health check lines up with what the processes will listen on.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { nodeCommand } from '../../src/cli/commands/node.js';
import { findNatsServerBinary } from '../../src/nats/index.js';
import { compileNodeOptions, type NodeFlags, type NodeOptions } from '../../src/node/index.js';
import { repoRoot } from '../harness/processes.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
}

const composeText = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const natsNames = Object.keys(services).filter((n) => services[n]?.image?.startsWith('nats:'));
const nodeNames = Object.keys(services).filter((n) => services[n]?.command?.[0] === 'node');

/** `${NAME:-default}` as Compose expands it with NAME unset. */
function expand(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+(?::?-([^}]*))?\}/g, (_m, fallback: string | undefined) => fallback ?? '');
}

/** The host file behind a path inside the container, from the service's bind mounts. */
function hostPath(service: Service, containerPath: string): string {
  for (const volume of service.volumes ?? []) {
    const [src, dst] = volume.split(':');
    if (!src || !dst || !src.startsWith('./')) continue;
    if (containerPath === dst) return join(repoRoot, src);
    if (containerPath.startsWith(`${dst}/`)) return join(repoRoot, src, posix.relative(dst, containerPath));
  }
  assert.fail(`${containerPath} is not bind-mounted from the repository`);
}

/** "host_ip:host:container" or "host:container" → container port. */
function containerPort(mapping: string): number {
  return Number(mapping.split(':').at(-1));
}

/** What the Dockerfile's last stage runs and how. */
function runtimeStage(): { from: string; lines: string[]; entrypoint: string[]; user?: string } {
  const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = text.split(/^FROM /m).slice(1);
  assert.ok(stages.length >= 2, 'the Dockerfile is multi-stage');
  const last = stages.at(-1)!;
  const lines = last.split('\n');
  const entry = lines.find((l) => l.startsWith('ENTRYPOINT '));
  assert.ok(entry, 'the runtime stage has an ENTRYPOINT');
  return {
    from: lines[0]!,
    lines,
    entrypoint: JSON.parse(entry.slice('ENTRYPOINT '.length)) as string[],
    user: lines.find((l) => l.startsWith('USER '))?.slice(5).trim(),
  };
}

/** The conf's `key: value` (top level or inside a block). */
function confValue(text: string, key: string): string | undefined {
  return text.match(new RegExp(`^\\s*${key}:\\s*(\\S+)`, 'm'))?.[1];
}

describe('docker-compose.yml', () => {
  test('three nats-servers and three wfmesh nodes', () => {
    assert.equal(natsNames.length, 3, `nats services: ${natsNames.join(', ')}`);
    assert.equal(nodeNames.length, 3, `wfmesh services: ${nodeNames.join(', ')}`);
  });

  describe('the nats-servers', () => {
    test('each command and config passes `nats-server -t` (the real server checks it)', () => {
      const bin = findNatsServerBinary();
      for (const name of natsNames) {
        const args = [...(services[name]!.command ?? [])];
        if (args[0] === 'nats-server') args.shift();
        const configIndex = args.indexOf('--config');
        assert.ok(configIndex >= 0, `${name} runs with --config`);
        args[configIndex + 1] = hostPath(services[name]!, args[configIndex + 1]!);
        const res = spawnSync(bin, ['-t', ...args], { encoding: 'utf8', timeout: 20_000 });
        // nats-server exits 0 even on an unknown flag: trust only its "is valid".
        assert.equal(res.status, 0, `${name}: nats-server -t ${args.join(' ')}\n${res.stdout}${res.stderr}`);
        assert.match(`${res.stdout}${res.stderr}`, /configuration file .* is valid/, `${name}: ${res.stdout}${res.stderr}`);
        assert.doesNotMatch(`${res.stdout}${res.stderr}`, /flag provided but not defined/);
        assert.equal(args[args.indexOf('--name') + 1], name, `${name} names itself after its service`);
      }
    });

    test('JetStream on, clustered with routes to each other by service name and route port, monitoring served', () => {
      for (const name of natsNames) {
        const service = services[name]!;
        const conf = readFileSync(hostPath(service, service.command![service.command!.indexOf('--config') + 1]!), 'utf8');
        assert.match(conf, /^jetstream\s*\{/m, `${name}: JetStream on`);
        const cluster = conf.match(/^cluster\s*\{([\s\S]*?)^\}/m)?.[1] ?? '';
        const routePort = confValue(cluster, 'listen')?.split(':')[1];
        const routes = [...cluster.matchAll(/nats-route:\/\/([^:\s]+):(\d+)/g)].map((m) => ({ host: m[1]!, port: m[2]! }));
        assert.deepEqual(routes.map((r) => r.host).sort(), [...natsNames].sort(), `${name}: routes to every nats service`);
        for (const r of routes) assert.equal(r.port, routePort, `${name}: routes use the cluster listen port`);
        const monitorPort = confValue(conf, 'http')?.split(':')[1];
        assert.equal(monitorPort, '8222');
        assert.ok(service.healthcheck?.test?.some((t) => t.includes(`:${monitorPort}/healthz`)), `${name}: health check on the monitoring port`);
        assert.ok(service.ports?.some((p) => containerPort(p) === Number(monitorPort)), `${name}: monitoring port published`);
      }
    });
  });

  describe('the wfmesh nodes', () => {
    const compiled = new Map<string, NodeOptions>();
    before(() => {
      for (const name of nodeNames) {
        const service = services[name]!;
        const [command, ...rest] = service.command!;
        assert.equal(command, nodeCommand.name);
        // The same parser and option specs the CLI uses: an unknown flag throws here.
        const { values } = parseArgs({ args: rest, options: nodeCommand.options, allowPositionals: false, strict: true });
        const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
        const int = (k: string) => (str(k) === undefined ? undefined : Number(str(k)));
        const config = str('config');
        const flags: NodeFlags = {
          config: config === undefined ? undefined : hostPath(service, config),
          nats: str('nats'),
          name: str('name'),
          region: str('region'),
          labels: (values.label as string[] | undefined) ?? [],
          tools: str('tools'),
          mcpPort: int('mcp-port'),
          mcpHost: str('mcp-host'),
          noMcp: values['no-mcp'] === true,
          maxConcurrency: int('max-concurrency'),
        };
        const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, expand(String(v))]));
        compiled.set(name, compileNodeOptions(flags, env));
      }
    });

    test('the image runs the binary as a non-root user (multi-stage Dockerfile)', () => {
      const stage = runtimeStage();
      assert.deepEqual(stage.entrypoint, ['/usr/local/bin/wfmesh']);
      assert.ok(stage.user && stage.user !== 'root' && stage.user !== '0', `USER ${stage.user}`);
      assert.ok(stage.lines.some((l) => l.startsWith('COPY --from=build') && l.includes('dist/wfmesh /usr/local/bin/wfmesh')));
      for (const name of nodeNames) assert.ok(services[name]!.build !== undefined, `${name} builds the Dockerfile`);
    });

    test('names, regions and labels are all distinct', () => {
      const all = [...compiled.values()];
      assert.equal(new Set(all.map((o) => o.name)).size, 3);
      assert.equal(new Set(all.map((o) => o.region)).size, 3, all.map((o) => o.region).join(','));
      assert.equal(new Set(all.map((o) => JSON.stringify(o.labels))).size, 3);
    });

    test('every node reaches the three nats services on their client port', () => {
      for (const [name, options] of compiled) {
        const hosts = options.nats.servers.map((s) => new URL(s)).map((u) => `${u.hostname}:${u.port}`);
        assert.deepEqual([...hosts].sort(), natsNames.map((n) => `${n}:4222`).sort(), name);
        assert.ok(natsNames.every((n) => services[name]!.depends_on?.[n]?.condition === 'service_healthy'), `${name} waits for healthy NATS`);
      }
    });

    test('health checks hit /healthz on the port each node listens on, reachable from outside the container', () => {
      for (const [name, options] of compiled) {
        const check = services[name]!.healthcheck?.test ?? [];
        const url = check.find((t) => t.startsWith('http://'));
        assert.ok(url, `${name}: the health check calls an URL`);
        const parsed = new URL(url);
        assert.equal(parsed.pathname, '/healthz');
        assert.equal(Number(parsed.port), options.http.port, `${name}: health check port`);
        assert.equal(options.http.host, '0.0.0.0', `${name}: listens on every interface of its container`);
        // The runtime image must have the program the health check runs.
        assert.ok(runtimeStage().lines.some((l) => l.includes('apt-get install') && l.includes(` ${check[1]}`)), `${check[1]} is installed`);
      }
    });

    test('exactly one node publishes its MCP port, and it has MCP on', () => {
      const publishing = nodeNames.filter((n) => (services[n]!.ports ?? []).length > 0);
      assert.equal(publishing.length, 1, publishing.join(','));
      const name = publishing[0]!;
      const options = compiled.get(name)!;
      assert.equal(options.http.mcp, true);
      assert.ok(services[name]!.ports!.some((p) => containerPort(p) === options.http.port));
      assert.ok([...compiled.values()].some((o) => !o.http.mcp), 'one node shows a node without MCP');
    });
  });

  for (const file of ['docs/deploy.md', 'README.md']) {
    test(`${file} describes this file: its services and published ports`, () => {
      const doc = readFileSync(join(repoRoot, file), 'utf8');
      checkDoc(doc, file);
    });
  }
  test('.dockerignore keeps the build context small', () => {
    assert.ok(existsSync(join(repoRoot, '.dockerignore')));
    assert.match(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'), /^node_modules$/m);
  });

  function checkDoc(doc: string, file: string): void {
    for (const name of [...natsNames, ...nodeNames]) assert.ok(doc.includes(`\`${name}\``), `${file} mentions ${name}`);
    for (const [name, service] of Object.entries(services)) {
      for (const mapping of service.ports ?? []) {
        const [host, hostPort] = mapping.split(':');
        assert.ok(doc.includes(`${host}:${hostPort}`), `${file} shows ${name}'s published ${host}:${hostPort}`);
      }
    }
  }
});
