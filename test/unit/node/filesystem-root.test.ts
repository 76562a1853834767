/**
 * The filesystem tool's root: off when none is configured (never the working directory), and a
 * root that holds the program's own files (or lies inside its code) stops start-up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { offeredTools } from '../../../src/executor/local.js';
import { BUILTIN_TOOL_TYPES } from '../../../src/executor/builtin.js';
import { compileNodeOptions } from '../../../src/node/options.js';
import { MeshError } from '../../../src/protocol/errors.js';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(join(tmpdir(), 'wfmesh-fsroot-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const clean = { WFMESH_FILESYSTEM_ROOT: undefined } as NodeJS.ProcessEnv;

function configWithRoot(root: string): string {
  const file = join(dir, `node-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `name: fs-test\nallow: {filesystem_root: ${JSON.stringify(root)}}\n`);
  return file;
}

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MeshError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, message);
    return true;
  });
}

test('no root configured: no filesystem tool, and no root at all (not the working directory)', () => {
  const options = compileNodeOptions({ name: 'fs-none' }, clean);
  assert.equal(options.allow.filesystem_root, undefined);
  const env = { node_name: 'x', allow: options.allow, llm: options.llm, max_output_bytes: 1_000 };
  assert.ok(!offeredTools(env, BUILTIN_TOOL_TYPES).includes('filesystem'));
  assert.ok(offeredTools(env, BUILTIN_TOOL_TYPES).includes('echo'));
});

test('a root that contains the program (the checkout, its parent, /) is refused at start-up', () => {
  for (const root of [pkg, dirname(pkg), '/']) {
    refused(() => compileNodeOptions({ config: configWithRoot(root) }, clean), /allow\.filesystem_root ".*" contains the program's own files/);
  }
  refused(() => compileNodeOptions({ name: 'fs-env' }, { WFMESH_FILESYSTEM_ROOT: pkg }), /WFMESH_FILESYSTEM_ROOT ".*" contains the program's own files/);
  refused(() => compileNodeOptions({ name: 'fs-flag', filesystemRoot: process.cwd() === pkg ? '.' : pkg }, clean), /contains the program's own files/);
});

test('a root inside the program code (dist, src, node_modules) is refused', () => {
  for (const sub of ['dist/executor/isolated', 'src', 'node_modules/nats']) {
    refused(() => compileNodeOptions({ config: configWithRoot(join(pkg, sub)) }, clean), /lies inside the program's code/);
  }
});

test('a data folder of its own is accepted, also inside the checkout (e.g. .wfmesh/files)', () => {
  const own = join(dir, 'files');
  assert.equal(compileNodeOptions({ config: configWithRoot(own) }, clean).allow.filesystem_root, own);
  assert.equal(compileNodeOptions({ name: 'fs-up', filesystemRoot: join(pkg, '.wfmesh', 'files') }, clean).allow.filesystem_root, join(pkg, '.wfmesh', 'files'));
});
