/**
 * `wfmesh validate` and `wfmesh run --mode sync` as real child processes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { startOpenAiServer, type OpenAiTestServer } from '../harness/openai-server.js';
import { spawnCli } from '../harness/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let llm: OpenAiTestServer;

async function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | string; out: string; err: string }> {
  const p = spawnCli(args, opts);
  const { code, signal } = await p.exited;
  return { code: code ?? signal ?? -1, out: p.stdout(), err: p.stderr() };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wfmesh-cli-'));
  // The CLI runs from source through tsx; from another folder it still needs to find it.
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'broken.yaml'), [
    'agents:',
    '  - {id: writer, model: m}',
    'workflows:',
    '  main_workflow:',
    '    - id: main',
    '      steps:',
    '        - id: draft',
    '          agent: writr',
    '          input: ${context.user_input}',
    '          output: {to: publish}',
    '        - id: publish',
    '          tool: echo',
    '          args: {text: "${draft.output.text} ${nope.output}"}',
    '          timeout: forever',
    '',
  ].join('\n'));
  await writeFile(join(dir, 'notes.txt'), 'remember the milk');
  await writeFile(join(dir, 'files.yaml'), `
workflows:
  read_notes:
    steps:
      - {id: read, tool: filesystem, method: read_file, args: {path: "\${user_input}"}, output: {to: user}}
  fails:
    steps:
      - {id: read, tool: filesystem, method: read_file, args: {path: missing.txt}}
      - {id: after, tool: echo, args: {}}
`);
  await writeFile(join(dir, 'env.yaml'), 'workflows:\n  region:\n    steps:\n      - {tool: echo, args: {region: "${env.WFMESH_TEST_REGION}"}}\n');
  llm = await startOpenAiServer((req) => ({ content: `summary of: ${req.messages.at(-1)?.content ?? ''}` }));
});

after(async () => {
  await llm.close();
  await rm(dir, { recursive: true, force: true });
});

describe('wfmesh validate', () => {
  test('every example in config/workflows is valid', async () => {
    const files = (await readdir(join(ROOT, 'config/workflows'))).filter((f) => f.endsWith('.yaml')).map((f) => `config/workflows/${f}`);
    const r = await cli(['validate', ...files]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(r.out.trim().split('\n'), files.map((f) => `${f}: valid`));
  });

  test('every error as FILE:LINE path: message, exit 1; --strict makes faults errors', async () => {
    const broken = join(dir, 'broken.yaml');
    const r = await cli(['validate', '--strict', broken, 'config/workflows/hello.yaml']);
    assert.equal(r.code, 1);
    const lines = r.out.trim().split('\n');
    assert.deepEqual(lines, [
      `${broken}:8 workflows.main_workflow[0].steps[0].agent: unknown agent "writr" (did you mean "writer"?) (agents defined: writer): a run that reaches step "draft" fails there`,
      `${broken}:13 workflows.main_workflow[0].steps[1].args: \${nope.output}: no step "nope" in workflow "main": a run that reaches step "publish" fails there`,
      `${broken}:14 workflows.main_workflow[0].steps[1].timeout: a timeout is a duration such as 500ms, 30s, 2m or 1h`,
      'config/workflows/hello.yaml: valid',
    ]);
  });

  test('--json, and usage errors', async () => {
    const r = await cli(['validate', '--json', join(dir, 'broken.yaml')]);
    assert.equal(r.code, 1);
    type Issue = { path: string; line: number; message: string };
    const [result] = JSON.parse(r.out) as { valid: boolean; errors: Issue[]; faults: Issue[]; warnings: Issue[] }[];
    assert.equal(result?.valid, false);
    // Without --strict, the unknown agent and the variable naming no step are faults (as LangSwarm
    // loads them): warnings, the step fails when reached. The bad timeout is an error either way.
    assert.deepEqual(result?.errors.map((e) => e.line), [14]);
    assert.deepEqual(result?.faults.map((e) => e.line), [8, 13]);
    assert.ok(result?.warnings.some((w) => w.line === 8 && /unknown agent "writr"/.test(w.message)));
    const none = await cli(['validate']);
    assert.equal(none.code, 2);
    const missing = await cli(['validate', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /cannot read .*nope\.yaml: ENOENT/);
  });
});

describe('wfmesh run --mode sync', () => {
  test('prints the output; --json prints the whole record', async () => {
    const r = await cli(['run', 'config/workflows/hello.yaml', '--mode', 'sync', '--input', 'world']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { greeting: 'Hello, world!', characters: 13 });
    const j = await cli(['run', 'config/workflows/map-reduce.yaml', '--mode', 'sync', '--input', 'a,bb', '--json']);
    assert.equal(j.code, 0, j.err);
    const record = JSON.parse(j.out) as ExecutionRecord;
    assert.equal(record.status, 'completed');
    assert.equal(record.mode, 'sync');
    assert.equal(record.requested_by, 'cli');
    assert.deepEqual(record.output, { items: 2, summary: 'a (1 characters)\nbb (2 characters)' });
    assert.ok(record.steps.length >= 9 && record.steps.every((s) => s.status === 'completed'));
  });

  test('a LangSwarm V1 agent workflow runs against an OpenAI-compatible server; text prints as-is', async () => {
    const r = await cli(['run', 'config/workflows/langswarm-summarize.yaml', '--mode', 'sync', '--input', 'Cats sleep a lot.'], {
      env: { OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: 'test' },
    });
    assert.equal(r.code, 0, r.err);
    // Both prompts are YAML block scalars (they end in a newline); the reply is printed unchanged.
    assert.equal(r.out, 'summary of: Review the summary:\nsummary of: Please summarize the article:\nCats sleep a lot.\n\n');
  });

  test('files are relative to the current folder; a failing step exits 1 and names the step', async () => {
    const ok = await cli(['run', 'files.yaml', '--mode', 'sync', '--workflow', 'read_notes', '--input', 'notes.txt'], { cwd: dir });
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.out, 'remember the milk\n');
    const failed = await cli(['run', 'files.yaml', '--mode', 'sync', '--workflow', 'fails'], { cwd: dir });
    assert.equal(failed.code, 1);
    assert.match(failed.err, /execution \S+ failed: step read failed \(tool_error\): filesystem: no such file or directory: "missing\.txt"/);
  });

  test('${env.NAME} needs --allow-env; invalid files and unknown workflows are refused', async () => {
    const refused = await cli(['run', 'env.yaml', '--mode', 'sync'], { cwd: dir });
    assert.equal(refused.code, 1);
    assert.match(refused.err, /env\.yaml:4 workflows\.region\.steps\[0\]\.args: \$\{env\.WFMESH_TEST_REGION\}: environment variable WFMESH_TEST_REGION is not allowed here/);
    const allowed = await cli(['run', 'env.yaml', '--mode', 'sync', '--allow-env', 'WFMESH_TEST_REGION'], {
      cwd: dir,
      env: { WFMESH_TEST_REGION: 'eu-west' },
    });
    assert.equal(allowed.code, 0, allowed.err);
    assert.deepEqual(JSON.parse(allowed.out), { region: 'eu-west' });
    const unknown = await cli(['run', 'files.yaml', '--mode', 'sync', '--workflow', 'nope'], { cwd: dir });
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /--workflow "nope": files\.yaml has read_notes, fails/);
  });
});
