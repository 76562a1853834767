import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStepExecutor, type StepExecutor } from '../../../src/executor/index.js';
import { never, rejectsWith, testEnv, toolTask } from './helpers.js';

let base: string;
let root: string;
let outside: string;
let ex: StepExecutor;
const fs = (method: string, args: unknown, settings?: Record<string, unknown>): Promise<unknown> =>
  ex.execute(toolTask('filesystem', method, args, settings), never());

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'wfmesh-fs-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(join(root, 'docs'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'docs', 'a.txt'), 'alpha');
  await writeFile(join(outside, 'secret.txt'), 'top secret');
  await symlink(join(outside, 'secret.txt'), join(root, 'leak.txt'));
  await symlink(outside, join(root, 'outdir'));
  await symlink(join(root, 'docs', 'a.txt'), join(root, 'inner-link.txt'));
  await symlink(join(outside, 'nothing-yet.txt'), join(root, 'dangling.txt'));
  ex = createStepExecutor(testEnv({ allow: { filesystem_root: root }, max_output_bytes: 10_000 }));
});
after(() => rm(base, { recursive: true, force: true }));

describe('filesystem', () => {
  test('read, write and list inside the root', async () => {
    assert.equal(await fs('read_file', { path: 'docs/a.txt' }), 'alpha');
    assert.deepEqual(await fs('write_file', { path: 'out/new/b.txt', content: 'beta' }), { path: 'out/new/b.txt', bytes: 4 });
    assert.equal(await readFile(join(root, 'out/new/b.txt'), 'utf8'), 'beta');
    await fs('write_file', { path: 'obj.json', content: { k: [1] } });
    assert.deepEqual(JSON.parse(await readFile(join(root, 'obj.json'), 'utf8')), { k: [1] });
    const listing = (await fs('list_dir', {})) as { name: string; type: string }[];
    assert.deepEqual(listing.find((e) => e.name === 'docs'), { name: 'docs', type: 'dir' });
    assert.deepEqual(listing.find((e) => e.name === 'leak.txt'), { name: 'leak.txt', type: 'symlink' });
    assert.deepEqual(await fs('list_dir', { path: 'docs' }), [{ name: 'a.txt', type: 'file', size: 5 }]);
  });

  test('a link that stays inside the root is followed', async () => {
    assert.equal(await fs('read_file', { path: 'inner-link.txt' }), 'alpha');
    await symlink(join(root, 'docs'), join(root, 'docs-link'));
    assert.deepEqual(await fs('write_file', { path: 'docs-link/new/c.txt', content: 'gamma' }), { path: 'docs/new/c.txt', bytes: 5 });
    assert.equal(await readFile(join(root, 'docs/new/c.txt'), 'utf8'), 'gamma');
  });

  test('base64 round trip', async () => {
    await fs('write_file', { path: 'bin.dat', content: Buffer.from([0, 255, 1]).toString('base64'), encoding: 'base64' });
    assert.equal(await fs('read_file', { path: 'bin.dat', encoding: 'base64' }), 'AP8B');
  });

  test('path traversal with .. is denied', async () => {
    await rejectsWith(fs('read_file', { path: '../outside/secret.txt' }), 'denied', /"\.\." may not appear/);
    await rejectsWith(fs('read_file', { path: 'docs/../../outside/secret.txt' }), 'denied', /"\.\." may not appear/);
    await rejectsWith(fs('write_file', { path: '..\\x.txt', content: 'x' }), 'denied', /"\.\."/);
    await rejectsWith(fs('list_dir', { path: '..' }), 'denied');
  });

  test('absolute paths are denied', async () => {
    await rejectsWith(fs('read_file', { path: join(outside, 'secret.txt') }), 'denied', /absolute path .* refused/);
    await rejectsWith(fs('read_file', { path: join(root, 'docs/a.txt') }), 'denied', /absolute path/);
  });

  test('symlink escapes are denied for read, write and list', async () => {
    await rejectsWith(fs('read_file', { path: 'leak.txt' }), 'denied', /resolves outside the tool's root through a symbolic link/);
    await rejectsWith(fs('read_file', { path: 'outdir/secret.txt' }), 'denied', /symbolic link/);
    await rejectsWith(fs('write_file', { path: 'leak.txt', content: 'pwned' }), 'denied');
    await rejectsWith(fs('write_file', { path: 'outdir/new.txt', content: 'pwned' }), 'denied', /resolves outside the tool's root through a symbolic link/);
    await rejectsWith(fs('write_file', { path: 'outdir/deeper/new.txt', content: 'pwned' }), 'denied', /resolves outside/);
    await rejectsWith(fs('write_file', { path: 'dangling.txt', content: 'pwned' }), 'denied', /dangling symbolic link/);
    await rejectsWith(fs('list_dir', { path: 'outdir' }), 'denied');
    assert.equal(await readFile(join(outside, 'secret.txt'), 'utf8'), 'top secret');
    await assert.rejects(readFile(join(outside, 'new.txt')));
    await assert.rejects(readFile(join(outside, 'nothing-yet.txt')));
  });

  test('settings.root narrows the root and can never widen it', async () => {
    assert.equal(await fs('read_file', { path: 'a.txt' }, { root: './docs' }), 'alpha');
    await rejectsWith(fs('read_file', { path: 'a.txt' }, { root: '..' }), 'denied', /settings\.root "\.\." is outside/);
    await rejectsWith(fs('read_file', { path: 'secret.txt' }, { root: outside }), 'denied', /outside the node's filesystem root/);
    await rejectsWith(fs('read_file', { path: 'secret.txt' }, { root: 'outdir' }), 'denied');
  });

  test('missing files, directories and big files fail clearly', async () => {
    await rejectsWith(fs('read_file', { path: 'nope.txt' }), 'tool_error', /no such file or directory: "nope.txt"/);
    await rejectsWith(fs('read_file', { path: 'docs' }), 'invalid_args', /is a directory/);
    await writeFile(join(root, 'big.txt'), 'x'.repeat(20_000));
    await rejectsWith(fs('read_file', { path: 'big.txt' }), 'tool_error', /max_output_bytes limit of 10000 bytes/);
    await rejectsWith(fs('read_file', {}), 'invalid_args', /args\.path/);
    await rejectsWith(fs('write_file', { path: 'x.txt' }), 'invalid_args', /args\.content is required/);
  });

  test('a node root that does not exist fails clearly', async () => {
    const ex2 = createStepExecutor(testEnv({ allow: { filesystem_root: join(base, 'missing') } }));
    await rejectsWith(ex2.execute(toolTask('filesystem', 'list_dir', {}), never()), 'tool_error', /filesystem root does not exist/);
  });
});
