// Template workflows do not only validate: they run. Each pattern, generated for a one-node mesh,
// runs to completion through the real engine and the real built-in tools in a tmp folder, with
// agent steps against the OpenAI-compatible test server (it echoes the prompt).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStepRunner, runExecution } from '../../src/engine/index.js';
import { createStepExecutor, type ExecutorEnvironment } from '../../src/executor/index.js';
import { generateWorkflow, type Complexity, type MeshCapabilities } from '../../src/generate/index.js';
import { loadWorkflowDocument } from '../../src/workflow/index.js';
import { startOpenAiServer, type OpenAiTestServer } from '../harness/openai-server.js';

let root: string;
let llm: OpenAiTestServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'wfmesh-gen-run-'));
  mkdirSync(join(root, 'src', 'util'), { recursive: true });
  writeFileSync(join(root, 'src', 'main.ts'), 'export const a = 1;\nexport const b = 2;\n');
  writeFileSync(join(root, 'src', 'util', 'strings.ts'), 'export function up(s: string) {\n  return s.toUpperCase();\n}\n');
  writeFileSync(join(root, 'src', 'notes.txt'), 'not TypeScript');
  writeFileSync(join(root, 'notes.md'), '# Notes\n- urgent: fix the build\n- later: docs\n');
  mkdirSync(join(root, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(root, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
  llm = await startOpenAiServer();
});
after(async () => {
  await llm.close();
  rmSync(root, { recursive: true, force: true });
});

function mesh(models: string[]): MeshCapabilities {
  return { nodes: [{ name: 'local', region: 'local', labels: {}, tools: ['filesystem', 'http', 'transform', 'echo', 'sleep'], models, gpus: [] }] };
}

async function generateAndRun(description: string, complexity: Complexity, models: string[], input = 'first line\nsecond line, urgent\nthird'): Promise<{ output: unknown; yaml: string }> {
  const r = await generateWorkflow({ description, complexity, generator: 'template' }, { capabilities: mesh(models) });
  const document = loadWorkflowDocument(r.yaml);
  const env: ExecutorEnvironment = {
    node_name: 'local',
    allow: { filesystem_root: root, http_hosts: [new URL(llm.url).host], shell_commands: [], env_vars: [] },
    llm: { base_url: llm.url, models, timeout_ms: 10_000 },
    max_output_bytes: 1 << 20,
  };
  const record = await runExecution({
    document,
    input,
    runner: new LocalStepRunner(createStepExecutor(env), 'local'),
    mode: 'sync',
    coordinator: 'local',
  });
  assert.equal(record.status, 'completed', `${description} (${complexity}, ${models.length ? 'model' : 'tools only'}): ${JSON.stringify(record.error)}\n${r.yaml}`);
  return { output: record.output, yaml: r.yaml };
}

const CASES = [
  'review the TypeScript files in src and write a report',
  'summarize notes.md',
  'summarize the text I give you',
  'analyze the input from several perspectives in parallel and combine the results',
  'if the ticket is urgent escalate it, otherwise file it',
  'for each line of the input, translate it to French',
  'fetch http://HOST/v1/models and summarize it',
];

describe('generated template workflows run to completion', () => {
  for (const models of [[], ['test-model']]) {
    for (const complexity of ['simple', 'medium', 'complex'] as const) {
      test(`${models.length ? 'with a model' : 'tools only'}, ${complexity}`, async () => {
        for (const description of CASES) {
          await generateAndRun(description.replace('HOST', new URL(llm.url).host), complexity, models);
        }
      });
    }
  }

  test('the review reads nested .ts files only and writes its report', async () => {
    rmSync(join(root, 'report.md'), { force: true });
    const { output } = await generateAndRun('review the TypeScript files in src and write a report', 'medium', []);
    const report = readFileSync(join(root, 'report.md'), 'utf8');
    assert.equal(output, report);
    assert.match(report, /src\/main\.ts`: 3 lines/);
    assert.match(report, /src\/util\/strings\.ts`: 4 lines/);
    assert.doesNotMatch(report, /notes\.txt/);
    assert.match(report, /no model was available/);
  });

  test('a scan of the whole folder skips node_modules', async () => {
    const { output } = await generateAndRun('count the lines of all the files', 'medium', []);
    assert.match(String(output), /`notes\.md`: 4 lines/);
    assert.match(String(output), /`src\/util`|`src\/main\.ts`/);
    assert.doesNotMatch(String(output), /node_modules/);
  });

  test('conditional routing takes the branch the input calls for', async () => {
    const urgent = await generateAndRun('if the ticket is urgent escalate it, otherwise file it', 'simple', [], 'this is urgent');
    assert.match(String(urgent.output), /mentions "urgent"/);
    const calm = await generateAndRun('if the ticket is urgent escalate it, otherwise file it', 'simple', [], 'all fine');
    assert.match(String(calm.output), /does not mention "urgent"/);
  });
});
