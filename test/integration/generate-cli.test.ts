// `wfmesh generate` as a user runs it: a real child process, in a tmp folder, offline with the
// templates or against the OpenAI-compatible test server; then `wfmesh run` on what it wrote.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenAiServer, type OpenAiTestServer } from '../harness/openai-server.js';
import { spawnCli } from '../harness/processes.js';

/** Every LLM setting removed (undefined removes a variable): offline unless a test adds them back. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { OPENAI_BASE_URL: undefined, OPENAI_API_KEY: undefined, WFMESH_MODEL: undefined, NATS_URL: undefined, ...extra };
}

async function wfmesh(args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawnCli(args, { cwd, env });
  const { code } = await p.exited;
  return { code: code ?? -1, stdout: p.stdout(), stderr: p.stderr() };
}

let dir: string;
let llm: OpenAiTestServer;
let answer = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wfmesh-gen-cli-'));
  mkdirSync(join(dir, 'src', 'lib'), { recursive: true });
  writeFileSync(join(dir, 'src', 'index.ts'), 'export * from "./lib/math.js";\n');
  writeFileSync(join(dir, 'src', 'lib', 'math.ts'), 'export const add = (a: number, b: number) => a + b;\n');
  llm = await startOpenAiServer(() => ({ content: answer }));
});
after(async () => {
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('wfmesh generate', () => {
  test('offline: generate -o review.yaml && run review.yaml --mode sync', async () => {
    const gen = await wfmesh(['generate', 'review the TypeScript files in src and write a report', '-o', 'review.yaml'], dir);
    assert.equal(gen.code, 0, gen.stderr);
    assert.equal(gen.stdout, '');
    assert.match(gen.stderr, /wrote review\.yaml: workflow "[\w-]+" \(generator template, valid\)/);
    const yaml = readFileSync(join(dir, 'review.yaml'), 'utf8');
    assert.match(yaml, /generator: template/);

    const run = await wfmesh(['run', 'review.yaml', '--mode', 'sync'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /src\/index\.ts/);
    assert.match(run.stdout, /src\/lib\/math\.ts/);
    assert.equal(readFileSync(join(dir, 'report.md'), 'utf8').trim(), run.stdout.trim());
  });

  test('without -o the YAML goes to stdout, and it validates', async () => {
    const gen = await wfmesh(['generate', 'summarize notes.md', '--complexity', 'simple', '--name', 'notes'], dir);
    assert.equal(gen.code, 0, gen.stderr);
    writeFileSync(join(dir, 'notes.yaml'), gen.stdout);
    const v = await wfmesh(['validate', 'notes.yaml'], dir);
    assert.equal(v.code, 0, v.stderr + v.stdout);
    assert.match(gen.stdout, /^ {2}notes:$/m);
  });

  test('with OPENAI_BASE_URL and WFMESH_MODEL it asks the LLM', async () => {
    answer = JSON.stringify({
      name: 'echo-it',
      description: 'echo',
      agents: [],
      tools: [],
      steps: [{ id: 'say', description: null, agent: null, input: null, tool: 'echo', method: null, args_json: '{"text": "${user_input}"}', depends_on: null, output_to: ['user'], condition: null, requires: null, loop: null }],
    });
    const env = cleanEnv({ OPENAI_BASE_URL: llm.url, WFMESH_MODEL: 'test-model' });
    const gen = await wfmesh(['generate', 'echo what I say', '-o', 'llm.yaml'], dir, env);
    assert.equal(gen.code, 0, gen.stderr);
    assert.match(gen.stderr, /generator llm, 1 round/);
    assert.equal(llm.requests.at(-1)?.model, 'test-model');
  });

  test('an unreachable endpoint fails clearly, exit 1, and writes nothing', async () => {
    const gone = await startOpenAiServer();
    await gone.close();
    const env = cleanEnv({ OPENAI_BASE_URL: gone.url, WFMESH_MODEL: 'm' });
    const gen = await wfmesh(['generate', 'anything', '-o', 'nope.yaml'], dir, env);
    assert.equal(gen.code, 1);
    assert.match(gen.stderr, /LLM generation failed \(unreachable\)/);
    assert.equal(existsSync(join(dir, 'nope.yaml')), false);
  });

  test('usage errors exit 2', async () => {
    assert.equal((await wfmesh(['generate'], dir)).code, 2);
    const bad = await wfmesh(['generate', 'x', '--complexity', 'huge'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /simple, medium, complex/);
    assert.equal((await wfmesh(['generate', 'x', '--generator', 'llm'], dir)).code, 1);
  });
});
