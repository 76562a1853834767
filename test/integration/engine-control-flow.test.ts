/**
 * The engine with the real executors (filesystem, transform, echo, sleep, http, agent via the
 * openai SDK against the OpenAI-compatible test server), real files in a temporary folder and a
 * real HTTP server: every control-flow feature end to end, in sync mode.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStepRunner, runExecution } from '../../src/engine/index.js';
import { createStepExecutor } from '../../src/executor/index.js';
import type { ExecutorEnvironment } from '../../src/executor/types.js';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { loadWorkflowDocument } from '../../src/workflow/index.js';
import { startOpenAiServer, type OpenAiTestServer } from '../harness/openai-server.js';

let root: string;
let llm: OpenAiTestServer;
let http: Server;
let httpHost: string;
let httpHits = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'wfmesh-engine-'));
  await mkdir(join(root, 'inbox'));
  await writeFile(join(root, 'inbox', 'a.txt'), 'alpha\nurgent: disk full');
  await writeFile(join(root, 'inbox', 'b.txt'), 'beta');
  await writeFile(join(root, 'inbox', 'c.txt'), 'gamma gamma');
  llm = await startOpenAiServer((req) => {
    const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
    const user = req.messages.at(-1)?.content ?? '';
    if (system.includes('summarizer')) return { content: `SUMMARY(${user.trim()})` };
    if (system.includes('classify')) return { content: JSON.stringify({ category: user.includes('invoice') ? 'billing' : 'other' }) };
    return { content: `echo: ${user}` };
  });
  // Drops the first two connections of each /flaky request series, then answers.
  http = createServer((req, res) => {
    httpHits++;
    if (req.url === '/flaky' && httpHits <= 2) {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, hits: httpHits }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpHost = `127.0.0.1:${(http.address() as AddressInfo).port}`;
});

after(async () => {
  await llm.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
});

function environment(): ExecutorEnvironment {
  return {
    node_name: 'itest',
    allow: { filesystem_root: root, http_hosts: [httpHost], shell_commands: [], env_vars: [] },
    llm: { base_url: llm.url, api_key: 'test', models: ['test-model'], timeout_ms: 10_000 },
    max_output_bytes: 1 << 20,
  };
}

async function execute(yaml: string, input: unknown = '', signal?: AbortSignal): Promise<ExecutionRecord> {
  const document = loadWorkflowDocument(yaml);
  const runner = new LocalStepRunner(createStepExecutor(environment()), 'itest');
  return runExecution({ document, input, runner, mode: 'sync', coordinator: 'itest', ...(signal && { signal }) });
}

const rowOf = (r: ExecutionRecord, id: string) => r.steps.find((s) => s.id === id);

describe('engine with real executors', () => {
  test('a LangSwarm V1 workflow in the documentation style runs through the openai SDK', async () => {
    const record = await execute(`
agents:
  - id: summarizer
    model: test-model
    system_prompt: "You are a helpful summarizer."
workflows:
  main_workflow:
    - id: main
      steps:
        - agent: summarizer
          input: \${context.user_input}
          output: {to: user}
`, 'The quick brown fox.');
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.equal(record.output, 'SUMMARY(The quick brown fox.)');
    assert.equal(rowOf(record, 'summarizer')?.node, 'itest');
    const sent = llm.requests.at(-1);
    assert.equal(sent?.model, 'test-model');
    assert.deepEqual(sent?.messages, [
      { role: 'system', content: 'You are a helpful summarizer.' },
      { role: 'user', content: 'The quick brown fox.' },
    ]);
  });

  test('fan-out writes files concurrently, fan-in lists them, a loop reads each one', async () => {
    const record = await execute(`
tools: [{id: fs, type: filesystem}]
workflows:
  w:
    steps:
      - {id: start, tool: echo, args: {dir: "out-\${user_input}"}, output: {to: [left, right]}}
      - {id: left, tool: fs, method: write_file, args: {path: "\${start.output.dir}/left.txt", content: L}}
      - {id: right, tool: fs, method: write_file, args: {path: "\${start.output.dir}/right.txt", content: RR}}
      - {id: list, depends_on: [left, right], tool: fs, method: list_dir, args: {path: "\${start.output.dir}"}}
      - id: read_all
        depends_on: [list]
        loop:
          for_each: \${list.output}
          var: f
          concurrency: 2
          body:
            - {id: read, tool: fs, method: read_file, args: {path: "\${start.output.dir}/\${f.name}"}}
        output: {to: user}
`, 'fan');
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.deepEqual([...(record.output as string[])].sort(), ['L', 'RR']);
    assert.equal(await readFile(join(root, 'out-fan', 'right.txt'), 'utf8'), 'RR');
    assert.equal(rowOf(record, 'read_all[1].read')?.status, 'completed');
  });

  test('conditions route on real file contents: if/else, switch and exists', async () => {
    const record = await execute(`
agents: [{id: classifier, model: test-model, response_format: json, system_prompt: classify the ticket}]
workflows:
  w:
    steps:
      - id: triage
        loop:
          for_each: [a.txt, b.txt]
          var: name
          body:
            - id: read
              tool: filesystem
              method: read_file
              args: {path: "inbox/\${name}"}
              output:
                to:
                  - condition: {if: "\${read.output} contains 'urgent'", then: page, else: file_it}
            - {id: page, tool: echo, args: {action: page, file: "\${name}"}, output: {to: user}}
            - {id: file_it, tool: echo, args: {action: file, file: "\${name}"}, output: {to: user}}
      - id: classify
        agent: classifier
        input: "my invoice is wrong"
        output:
          to:
            - condition: {switch: "\${classify.output.category}", cases: {billing: billing}, default: other}
      - id: billing
        tool: echo
        args: {queue: billing}
        output: {to: [{condition: {exists: "\${classify.output.order_id}", then: with_order, else: user}}]}
      - {id: with_order, tool: echo, args: {}, output: {to: user}}
      - {id: other, tool: echo, args: {queue: other}, output: {to: user}}
`);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.deepEqual(rowOf(record, 'triage')?.output, [{ action: 'page', file: 'a.txt' }, { action: 'file', file: 'b.txt' }]);
    assert.equal(rowOf(record, 'triage[0].file_it')?.status, 'skipped');
    assert.equal(rowOf(record, 'triage[1].page')?.status, 'skipped');
    assert.equal(rowOf(record, 'other')?.status, 'skipped');
    assert.equal(rowOf(record, 'with_order')?.status, 'skipped');
    assert.deepEqual(record.output, { queue: 'billing' });
  });

  test('invoke_workflow and a loop whose body is a workflow', async () => {
    const record = await execute(`
workflows:
  main:
    steps:
      - {id: names, tool: filesystem, method: list_dir, args: {path: inbox}}
      - {id: sizes, loop: {for_each: "\${names.output}", concurrency: 3, body: size_of}}
      - {id: total, invoke_workflow: count, input: "\${sizes.output}", output: {to: user}}
  size_of:
    steps:
      - {id: read, tool: filesystem, method: read_file, args: {path: "inbox/\${user_input.name}"}}
      - {id: len, tool: transform, method: length, args: {value: "\${read.output}"}}
  count:
    steps:
      - {id: n, tool: transform, method: length, args: {value: "\${user_input}"}}
`);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.deepEqual(rowOf(record, 'sizes')?.output, [23, 4, 11]);
    assert.equal(record.output, 3);
    assert.equal(rowOf(record, 'sizes[2]/len')?.output, 11);
    assert.equal(rowOf(record, 'total/n')?.status, 'completed');
  });

  test('a bounded cycle (LangSwarm loop-back routing) over real files', async () => {
    await mkdir(join(root, 'rounds'));
    const record = await execute(`
workflows:
  w:
    steps:
      - {id: look, tool: filesystem, method: list_dir, args: {path: rounds}, max_visits: 5}
      - id: count
        tool: transform
        method: length
        args: {value: "\${look.output}"}
        output: {to: [{condition: {if: "\${count.output} < 3", then: add, else: user}}]}
      - {id: add, tool: filesystem, method: write_file, args: {path: "rounds/r\${count.output}.txt", content: x}, output: {to: look}}
`);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.equal(record.output, 3);
    assert.deepEqual((await readdir(join(root, 'rounds'))).sort(), ['r0.txt', 'r1.txt', 'r2.txt']);
    assert.deepEqual(record.steps.map((s) => s.id), ['look', 'count', 'add', 'look#2', 'count#2', 'add#2', 'look#3', 'count#3', 'add#3', 'look#4', 'count#4']);
  });

  test('retry with backoff over a real HTTP failure', async () => {
    httpHits = 0;
    const record = await execute(`
workflows:
  w:
    - {id: call, tool: http, method: request, args: {url: "http://${'${user_input}'}/flaky"}, retry: {count: 3, backoff_ms: 5}, output: {to: user}}
`, httpHost);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.equal(rowOf(record, 'call')?.attempts, 3);
    assert.deepEqual((record.output as { body: unknown }).body, { ok: true, hits: 3 });
  });

  test('a per-step timeout aborts the real sleep', async () => {
    const record = await execute('workflows: {w: [{id: nap, tool: sleep, args: {ms: 20000}, timeout: 100ms}]}');
    assert.equal(record.status, 'failed');
    assert.equal(record.error?.type, 'timeout');
    assert.equal(rowOf(record, 'nap')?.status, 'failed');
  });

  test('continue_on_error carries a real tool failure forward', async () => {
    const record = await execute(`
workflows:
  w:
    steps:
      - {id: missing, tool: filesystem, method: read_file, args: {path: inbox/none.txt}, continue_on_error: true}
      - id: report
        tool: echo
        args: {failed: "\${missing.output.error.type}", why: "\${missing.output.error.message}"}
        output: {to: user}
`);
    assert.equal(record.status, 'completed');
    assert.equal(rowOf(record, 'missing')?.status, 'failed');
    assert.equal((record.output as { failed: string }).failed, 'tool_error');
    assert.match((record.output as { why: string }).why, /no such file/);
  });

  test('cancellation reaches in-flight steps', async () => {
    const ctl = new AbortController();
    const started = execute(`
workflows:
  w:
    steps:
      - {id: go, tool: echo, args: {}, output: {to: [a, b]}}
      - {id: a, tool: sleep, args: {ms: 20000}}
      - {id: b, loop: {max: 2, concurrency: 2, body: [{id: z, tool: sleep, args: {ms: 20000}}]}}
      - {id: c, depends_on: [a, b], tool: echo, args: {}}
`, '', ctl.signal);
    setTimeout(() => ctl.abort(new Error('stop now')), 100);
    const record = await started;
    assert.equal(record.status, 'cancelled');
    assert.deepEqual(
      record.steps.map((s) => [s.id, s.status]),
      [['go', 'completed'], ['a', 'cancelled'], ['b', 'cancelled'], ['c', 'cancelled'], ['b[0].z', 'cancelled'], ['b[1].z', 'cancelled']],
    );
    assert.ok(record.steps.every((s) => s.status !== 'running'));
  });

  test('the filesystem root still holds: a variable cannot smuggle a path out', async () => {
    const record = await execute('workflows: {w: [{tool: filesystem, method: read_file, args: {path: "${user_input}"}}]}', '../../etc/passwd');
    assert.equal(record.status, 'failed');
    assert.equal(record.error?.type, 'denied');
  });
});
