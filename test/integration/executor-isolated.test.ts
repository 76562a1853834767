import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIsolatedExecutor, setIsolatedWorkerCommand, type IsolatedExecutor } from '../../src/executor/index.js';
import { startOpenAiServer, type OpenAiTestServer } from '../harness/openai-server.js';
import { startMcpTestServer, type McpTestServer } from '../harness/mcp-server.js';
import { never, rejectsWith, testEnv, toolTask } from '../unit/executor/helpers.js';

const node = process.execPath;
let dir: string;
let llm: OpenAiTestServer;
let mcp: McpTestServer;
let ex: IsolatedExecutor;

/** Waits (bounded) until a process is gone; true when it is. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wfmesh-iso-'));
  llm = await startOpenAiServer();
  mcp = await startMcpTestServer();
  const env = testEnv({
    allow: { filesystem_root: dir, shell_commands: [`${node} -p -e`], http_hosts: [new URL(mcp.url).host] },
    llm: { base_url: llm.url, models: ['test-model'], timeout_ms: 5_000 },
  });
  ex = createIsolatedExecutor(env, { worker_env: { WFMESH_TEST_FAULTS: '1' }, memory_mib: 96 });
});
after(async () => {
  await ex.close();
  await llm.close();
  await mcp.close();
  await rm(dir, { recursive: true, force: true });
});

describe('isolated executor', () => {
  test('runs tool steps in a child process', async () => {
    assert.deepEqual(await ex.execute(toolTask('echo', undefined, { hello: 'child' }), never()), { hello: 'child' });
    assert.deepEqual(await ex.execute(toolTask('filesystem', 'write_file', { path: 'x.txt', content: 'from child' }), never()), { path: 'x.txt', bytes: 10 });
    assert.equal(await readFile(join(dir, 'x.txt'), 'utf8'), 'from child');
    const out = (await ex.execute(toolTask('shell', 'run', { command: node, args: ['-p', 'process.pid'] }), never())) as { stdout: string };
    assert.notEqual(Number(out.stdout), process.pid);
  });

  test('each step gets a fresh process', async () => {
    const pids = new Set<string>();
    for (let i = 0; i < 3; i += 1) {
      const out = (await ex.execute(toolTask('shell', 'run', { command: node, args: ['-p', 'process.ppid'] }), never())) as { stdout: string };
      pids.add(out.stdout.trim());
    }
    assert.equal(pids.size, 3);
  });

  test('step failures travel back with their type', async () => {
    await rejectsWith(ex.execute(toolTask('filesystem', 'read_file', { path: '../etc/passwd' }), never()), 'denied', /"\.\." may not appear/);
    await rejectsWith(ex.execute(toolTask('sleep', undefined, { ms: -1 }), never()), 'invalid_args', /args\.ms/);
  });

  test('agent and mcpremote steps run in a full worker', async () => {
    assert.equal(await ex.execute({ kind: 'agent', agent: { id: 'a', model: 'test-model' }, input: 'isolated' }, never()), 'echo: isolated');
    assert.deepEqual(await ex.execute(toolTask('mcpremote', 'call', { tool: 'add', arguments: { a: 1, b: 2 } }, { mcp_url: mcp.url }), never()), { sum: 3 });
  });

  test('the fault tool is never advertised; unknown tools are refused without a process', async () => {
    assert.ok(!ex.tools.includes('fault'));
    const plain = createIsolatedExecutor(testEnv(), { prewarm: false });
    try {
      await rejectsWith(plain.execute(toolTask('fault', 'crash', {}), never()), 'unsupported', /does not offer tool type "fault"/);
    } finally {
      await plain.close();
    }
  });

  test('a crash, process.exit, abort and runaway memory fail the step; the executor keeps serving', async () => {
    await rejectsWith(ex.execute(toolTask('fault', 'crash', {}), never()), 'crashed', /exited with code 1 before finishing the step: Error: fault: deliberate crash/);
    assert.deepEqual(await ex.execute(toolTask('echo', undefined, 1), never()), 1);
    await rejectsWith(ex.execute(toolTask('fault', 'exit', { code: 7 }), never()), 'crashed', /exited with code 7/);
    assert.deepEqual(await ex.execute(toolTask('echo', undefined, 2), never()), 2);
    await rejectsWith(ex.execute(toolTask('fault', 'abort', {}), never()), 'crashed', /killed by signal SIGABRT/);
    await rejectsWith(ex.execute(toolTask('fault', 'oom', {}), never()), 'crashed', /ran out of memory \(heap limit 96 MiB\)/);
    assert.deepEqual(await ex.execute(toolTask('echo', undefined, 3), never()), 3);
  });

  test('an endless loop is killed on timeout and on cancel', async () => {
    await rejectsWith(ex.execute(toolTask('fault', 'loop', {}), AbortSignal.timeout(300)), 'timeout');
    const cancel = new AbortController();
    setTimeout(() => cancel.abort('user cancelled'), 300);
    await rejectsWith(ex.execute(toolTask('fault', 'loop', {}), cancel.signal), 'cancelled', /user cancelled/);
    assert.deepEqual(await ex.execute(toolTask('echo', undefined, 'still serving'), never()), 'still serving');
  });

  test('cancel kills what the step started too', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
    const ac = new AbortController();
    const run = ex.execute(toolTask('shell', 'run', { command: node, args: ['-e', script], timeout_ms: 60_000 }), ac.signal);
    let pid = 0;
    for (let i = 0; i < 200 && !pid; i += 1) {
      pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
      if (!pid) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(pid > 0, 'the grandchild started');
    ac.abort();
    await rejectsWith(run, 'cancelled');
    assert.ok(await gone(pid), 'the grandchild was killed with the step process');
  });

  test('close() fails the running step as cancelled', async () => {
    const ex2 = createIsolatedExecutor(testEnv(), { prewarm: false });
    const run = ex2.execute(toolTask('sleep', undefined, { ms: 60_000 }), never());
    await new Promise((r) => setTimeout(r, 200));
    await ex2.close();
    await rejectsWith(run, 'cancelled', /closed/);
    await rejectsWith(ex2.execute(toolTask('echo', undefined, 1), never()), 'cancelled', /closed/);
  });

  test('setIsolatedWorkerCommand: a process that starts itself as `__step-worker`', async () => {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const entry = `import(${JSON.stringify(`file://${main}`)}).then((m) => m.main(['__step-worker']))`;
    setIsolatedWorkerCommand({ command: node, args: ['--import', 'tsx', '--input-type=module', '-e', entry] });
    const ex3 = createIsolatedExecutor(testEnv(), { prewarm: false, memory_mib: 80, worker_env: { WFMESH_TEST_FAULTS: '1' } });
    try {
      assert.deepEqual(await ex3.execute(toolTask('echo', undefined, { via: 'cli' }), never()), { via: 'cli' });
      await rejectsWith(ex3.execute(toolTask('fault', 'oom', {}), never()), 'crashed', /out of memory \(heap limit 80 MiB\)/);
    } finally {
      setIsolatedWorkerCommand(undefined);
      await ex3.close();
    }
  });
});
