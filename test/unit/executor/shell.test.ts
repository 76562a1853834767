import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStepExecutor } from '../../../src/executor/index.js';
import { never, rejectsWith, testEnv, toolTask } from './helpers.js';

const node = process.execPath;
const ex = createStepExecutor(testEnv({ allow: { filesystem_root: undefined, shell_commands: ['echo', `${node} -e -p`, 'definitely-not-a-command-wfmesh'] }, max_output_bytes: 10_000 }));
const run = (args: unknown, settings?: Record<string, unknown>, signal = never()): Promise<unknown> =>
  ex.execute(toolTask('shell', 'run', args, settings), signal);

describe('shell', () => {
  test('is off by default and on when commands are allowed', () => {
    assert.ok(!createStepExecutor(testEnv()).tools.includes('shell'));
    assert.ok(ex.tools.includes('shell'));
  });

  test('runs an allowed command with args and no shell interpretation', async () => {
    assert.deepEqual(await run({ command: 'echo', args: ['hello', '$HOME', ';', 'ls', 3] }), { exit_code: 0, stdout: 'hello $HOME ; ls 3\n', stderr: '' });
    const out = (await run({ command: node, args: ['-e', 'process.stdin.pipe(process.stdout)'], stdin: 'piped' })) as { stdout: string };
    assert.equal(out.stdout, 'piped');
  });

  test('a command that is not allow-listed is denied', async () => {
    await rejectsWith(run({ command: 'ls', args: ['/'] }), 'denied', /command "ls" refused: it is not in the allow-list \(allow\.shell_commands\)/);
    await rejectsWith(run({ command: '/bin/echo', args: ['x'] }), 'denied', /"\/bin\/echo" refused/);
    await rejectsWith(run({ command: 'echo hi; rm -rf /' }), 'denied');
    await rejectsWith(run({ command: 'echo' }, { commands: ['cat'] }), 'denied', /"echo" refused/);
  });

  test('non-zero exit, timeout, cancel, output cap and a missing command fail clearly', async () => {
    await rejectsWith(run({ command: node, args: ['-e', 'console.error("bad thing"); process.exit(3)'] }), 'tool_error', /exited with code 3: bad thing/);
    await rejectsWith(run({ command: node, args: ['-e', 'setInterval(() => {}, 1000)'], timeout_ms: 100 }), 'timeout', /timed out after 100 ms and was killed/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await rejectsWith(run({ command: node, args: ['-e', 'setInterval(() => {}, 1000)'] }, undefined, ac.signal), 'cancelled');
    await rejectsWith(run({ command: node, args: ['-e', 'process.stdout.write("x".repeat(100000))'] }), 'tool_error', /max_output_bytes limit of 10000 bytes and was killed/);
    await rejectsWith(run({ command: 'definitely-not-a-command-wfmesh' }), 'tool_error', /not found on this node/);
  });

  describe('arguments, working folder and environment', () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'wfmesh-shell-root-')));
    const outside = mkdtempSync(join(tmpdir(), 'wfmesh-shell-outside-'));
    after(() => {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    });
    writeFileSync(join(root, 'numbers.txt'), '10\n9\n100\n');
    const secrets = { NATS_PASS: 'nats-secret-1', WFMESH_MCP_TOKEN: 'mcp-secret-2', OPENAI_API_KEY: 'sk-secret-3', EU_TENANT: 'acme' };
    const saved = Object.fromEntries(Object.keys(secrets).map((k) => [k, process.env[k]]));
    Object.assign(process.env, secrets);
    after(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    // As config/nodes/eu-node.yaml allows wc, plus an operator who allows `sort -n` and `sort -o`.
    const sh = createStepExecutor(
      testEnv({ allow: { filesystem_root: root, shell_commands: ['wc', 'sort -n -r -o', 'env', 'pwd', 'cat /usr/share/*'], env_vars: ['EU_TENANT'] } }),
    );
    const runIn = (command: string, args: string[]) => sh.execute(toolTask('shell', 'run', { command, args }), never()) as Promise<{ stdout: string }>;

    test('paths outside the root and options the entry does not name are refused', async () => {
      await rejectsWith(runIn('sort', ['/proc/self/environ']), 'denied', /path argument "\/proc\/self\/environ" of "sort" refused: the allow-list entry "sort -n -r -o" does not permit it/);
      await rejectsWith(runIn('sort', [`--output=${outside}/x`, 'numbers.txt']), 'denied', /option argument "--output=.*" of "sort" refused/);
      await rejectsWith(runIn('wc', ['--files0-from=/proc/self/environ']), 'denied', /option argument "--files0-from=\/proc\/self\/environ" of "wc" refused/);
      await rejectsWith(runIn('wc', ['-l', 'numbers.txt']), 'denied', /option argument "-l"/);
      await rejectsWith(runIn('wc', ['../../etc/passwd']), 'denied', /"\.\." is never allowed/);
      await rejectsWith(runIn('wc', ['--', '/etc/passwd']), 'denied', /path argument "\/etc\/passwd"/);
      await rejectsWith(runIn('sort', ['-o', '/tmp/elsewhere', 'numbers.txt']), 'denied', /path argument "\/tmp\/elsewhere"/);
      await rejectsWith(runIn('cat', ['/usr/share/../../etc/passwd']), 'denied', /"\.\." is never allowed/);
      assert.deepEqual(readFileSync(join(root, 'numbers.txt'), 'utf8'), '10\n9\n100\n');
    });

    test('what the entry names runs, in the root', async () => {
      assert.equal((await runIn('sort', ['-n', 'numbers.txt'])).stdout, '9\n10\n100\n');
      assert.equal((await runIn('sort', ['-n', '-r', '-o', 'sorted.txt', 'numbers.txt'])).stdout, '');
      assert.equal(readFileSync(join(root, 'sorted.txt'), 'utf8'), '100\n10\n9\n');
      assert.match((await runIn('wc', ['numbers.txt'])).stdout, /3\s+3\s+9 numbers\.txt/);
      assert.equal((await runIn('pwd', [])).stdout.trim(), root);
    });

    test("the child sees PATH, HOME, LANG and the allowed env_vars, never the node's secrets", async () => {
      const out = (await runIn('env', [])).stdout;
      const names = out.trim().split('\n').map((l) => l.split('=')[0]).sort();
      assert.deepEqual(names, ['EU_TENANT', 'HOME', 'LANG', 'PATH']);
      for (const secret of ['nats-secret-1', 'mcp-secret-2', 'sk-secret-3']) assert.ok(!out.includes(secret), out);
      assert.match(out, new RegExp(`^HOME=${root}$`, 'm'));
    });

    test('a node without a filesystem root runs commands in an empty folder of their own', async () => {
      const bare = createStepExecutor(testEnv({ allow: { filesystem_root: undefined, shell_commands: ["pwd"] } }));
      const cwd = ((await bare.execute(toolTask('shell', 'run', { command: 'pwd' }), never())) as { stdout: string }).stdout.trim();
      assert.ok(cwd.includes('wfmesh-shell-') && cwd !== process.cwd(), cwd);
    });
  });
});
