import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStepExecutor } from '../../../src/executor/index.js';
import { never, rejectsWith, testEnv, toolTask } from './helpers.js';

const node = process.execPath;
const ex = createStepExecutor(testEnv({ allow: { shell_commands: ['echo', node, 'definitely-not-a-command-wfmesh'] }, max_output_bytes: 10_000 }));
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
});
