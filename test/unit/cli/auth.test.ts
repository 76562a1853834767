import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { authCommand } from '../../../src/cli/commands/auth.js';
import { commands } from '../../../src/cli/commands/index.js';
import { MeshError } from '../../../src/protocol/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'wfmesh-auth-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

test('`wfmesh auth nats-config` writes the users, one 0600 seed each, and says how to use them', async () => {
  assert.ok(commands.some((c) => c.name === 'auth'));
  assert.equal(await commands.find((c) => c.name === 'auth')!.load(), authCommand);
  const c = capture();
  const out = join(dir, 'mesh');
  const code = await authCommand.run({ positionals: ['nats-config'], values: { nodes: 'eu-1,gpu-1', clients: 'ops', out, account: 'WFMESH' } }, c.io);
  assert.equal(code, 0);
  assert.equal(c.out.join(''), join(out, 'wfmesh-auth.conf'));
  const conf = readFileSync(join(out, 'wfmesh-auth.conf'), 'utf8');
  assert.match(conf, /^WFMESH \{\n {2}jetstream: enabled/m);
  assert.match(conf, /"wfmesh\.member\.gpu-1\.\*"/);
  assert.match(conf, /"\$KV\.>"/);
  for (const name of ['eu-1', 'gpu-1', 'ops']) assert.equal(statSync(join(out, `${name}.nk`)).mode & 0o777, 0o600);
  assert.match(c.err.join('\n'), /NATS_NKEY=.*eu-1\.nk wfmesh node --name eu-1/);
  assert.match(c.err.join('\n'), /NATS_INBOX_PREFIX=_INBOX_ops/);
});

test('bad names and a missing sub-command are usage errors naming the problem', async () => {
  const run = (positionals: string[], values: Record<string, string>) => authCommand.run({ positionals, values }, capture().io);
  const usage = (re: RegExp) => (err: unknown) => err instanceof MeshError && err.code === 'USAGE' && re.test(err.message);
  await assert.rejects(run([], { nodes: 'a' }), usage(/unknown sub-command \(none\)/));
  await assert.rejects(run(['nats-config'], { out: join(dir, 'x') }), usage(/--nodes: name at least one node/));
  await assert.rejects(run(['nats-config'], { nodes: 'a.b', out: join(dir, 'x') }), usage(/"a\.b": node and client names/));
  await assert.rejects(run(['nats-config'], { nodes: 'a,a', out: join(dir, 'x') }), usage(/"a" is named twice/));
});
