/**
 * Every example in config/workflows validates, and each one runs in sync mode with the real
 * executors: files in a temporary folder, agents through the openai SDK against the
 * OpenAI-compatible test server (no LLM is reachable here).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStepRunner, runExecution } from '../../src/engine/index.js';
import { createStepExecutor } from '../../src/executor/index.js';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { validateWorkflowText } from '../../src/workflow/index.js';
import { startOpenAiServer, type ChatRequest, type OpenAiReply, type OpenAiTestServer } from '../harness/openai-server.js';

const EXAMPLES = fileURLToPath(new URL('../../config/workflows/', import.meta.url));
let root: string;
let llm: OpenAiTestServer;
let critic = 'accept';

/** Canned answers by agent, recognised from its system prompt. */
function answer(system: string, user: string): string {
  if (system.includes('senior engineer')) return `no findings in ${user.split('\n')[0]}`;
  if (system.includes('Merge code reviews')) return '# Review\nAll files look fine.';
  if (system.includes('ten most important facts')) return '1. fact one\n2. fact two';
  if (system.includes('one-page report')) return user.startsWith('Revise') ? '# Report v2' : '# Report v1';
  if (system.includes('Judge the report')) return JSON.stringify({ verdict: critic, notes: 'add sources' });
  if (system.includes('Classify the support message')) return JSON.stringify({ category: 'billing', priority: 5, order_id: '4411' });
  if (system.includes('friendly reply')) return 'Sorry about that, we are on it.';
  if (system.includes('technical writer')) return 'KV caching keeps attention keys and values.';
  if (system.includes('counts per country')) return JSON.stringify({ SE: 2, PT: 1, DE: 1, FR: 1 });
  if (system.includes('helpful summarizer')) return 'A short summary.';
  if (system.includes('review summaries')) return 'The summary misses nothing.';
  return `unexpected agent: ${system}`;
}

/** The research agent: lists the notes, then answers from what it saw (a tool-calling model). */
function investigator(req: ChatRequest): OpenAiReply {
  const seen = req.messages.filter((m) => m.role === 'tool').map((m) => m.content);
  if (seen.length === 0) return { tool_calls: [{ name: 'notes__list_dir', arguments: { path: 'project' } }] };
  return { content: JSON.stringify({ cause: 'unknown', evidence: seen, next_step: 'read the sensors' }) };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'wfmesh-examples-'));
  await mkdir(join(root, 'project', 'nested'), { recursive: true });
  await writeFile(join(root, 'project', 'main.ts'), 'export const x = 1;\n');
  await writeFile(join(root, 'project', 'util.ts'), 'export function f() { return 2; }\n');
  await copyFile(join(EXAMPLES, 'data', 'customers.json'), join(root, 'customers.json'));
  llm = await startOpenAiServer((req) => {
    const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
    if (system.includes('investigate store incidents')) return investigator(req);
    return { content: answer(system, req.messages.at(-1)?.content ?? '') };
  });
});

after(async () => {
  await llm.close();
  await rm(root, { recursive: true, force: true });
});

async function runExample(file: string, input: string): Promise<ExecutionRecord> {
  const v = validateWorkflowText(await readFile(join(EXAMPLES, file), 'utf8'));
  assert.ok(v.document, JSON.stringify(v.errors));
  const executor = createStepExecutor({
    node_name: 'example-node',
    allow: { filesystem_root: root, http_hosts: [], shell_commands: [], env_vars: [] },
    llm: { base_url: llm.url, api_key: 'test', models: [], timeout_ms: 10_000 },
    max_output_bytes: 1 << 20,
  });
  const record = await runExecution({ document: v.document, input, runner: new LocalStepRunner(executor, 'example-node'), mode: 'sync', coordinator: 'example-node' });
  assert.equal(record.status, 'completed', `${file}: ${JSON.stringify(record.error)}`);
  return record;
}

const status = (r: ExecutionRecord, id: string): string | undefined => r.steps.find((s) => s.id === id)?.status;

describe('config/workflows examples', () => {
  test('every example validates, with no warnings', async () => {
    const files = (await readdir(EXAMPLES)).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 6, `only ${files.length} examples`);
    for (const f of files) {
      const r = validateWorkflowText(await readFile(join(EXAMPLES, f), 'utf8'));
      assert.deepEqual(r.errors, [], f);
      assert.deepEqual(r.warnings, [], f);
    }
  });

  test('hello', async () => {
    const r = await runExample('hello.yaml', 'world');
    assert.deepEqual(r.output, { greeting: 'Hello, world!', characters: 13 });
  });

  test('langswarm-summarize (LangSwarm V1, documentation style)', async () => {
    const r = await runExample('langswarm-summarize.yaml', 'A long article.');
    assert.equal(r.output, 'The summary misses nothing.');
    assert.deepEqual(r.steps.map((s) => s.id), ['summarize_text', 'review_summary']);
    const review = llm.requests.at(-1)?.messages.at(-1)?.content ?? '';
    assert.match(review, /Review the summary:\nA short summary\./);
  });

  test('code-review over real files', async () => {
    const r = await runExample('code-review.yaml', 'project');
    const out = r.output as { report: string; saved: { path: string } };
    assert.equal(out.report, '# Review\nAll files look fine.');
    assert.equal(out.saved.path, 'project/REVIEW.md');
    assert.equal(await readFile(join(root, 'project', 'REVIEW.md'), 'utf8'), '# Review\nAll files look fine.');
    const reviewed = r.steps.filter((s) => /^review_files\[\d+\]\.review$/.test(s.id));
    assert.equal(reviewed.filter((s) => s.status === 'completed').length, 2, 'two files reviewed');
    assert.equal(reviewed.filter((s) => s.status === 'skipped').length, 1, 'the folder is skipped');
  });

  test('research-report: accepted, then revised', async () => {
    critic = 'accept';
    const accepted = await runExample('research-report.yaml', 'heat pumps');
    assert.deepEqual(accepted.output, { topic: 'heat pumps', report: '# Report v1', critic_notes: 'add sources' });
    assert.equal(status(accepted, 'revise'), 'skipped');
    critic = 'revise';
    const revised = await runExample('research-report.yaml', 'heat pumps');
    assert.deepEqual(revised.output, { topic: 'heat pumps', report: '# Report v2', critic_notes: 'add sources' });
    assert.equal(status(revised, 'publish'), 'skipped');
  });

  test('map-reduce', async () => {
    const r = await runExample('map-reduce.yaml', 'alpha,beta,gamma');
    assert.deepEqual(r.output, { items: 3, summary: 'alpha (5 characters)\nbeta (4 characters)\ngamma (5 characters)' });
    assert.equal(r.steps.filter((s) => s.id.startsWith('map[')).length, 6);
  });

  test('triage: switch, exists and if/else', async () => {
    const r = await runExample('triage.yaml', 'My invoice is wrong! Order 4411');
    assert.equal(r.output, 'Sorry about that, we are on it.');
    assert.deepEqual(
      Object.fromEntries(r.steps.map((s) => [s.id, s.status])),
      { classify: 'completed', billing: 'completed', technical: 'skipped', general: 'skipped', escalate_check: 'completed', escalate: 'completed', reply: 'completed' },
    );
  });

  test('gpu-inference (requires is for placement; sync runs it here)', async () => {
    const r = await runExample('gpu-inference.yaml', 'Explain KV caching');
    assert.deepEqual(r.output, { answer: 'KV caching keeps attention keys and values.', characters: 43 });
    assert.equal(status(r, 'empty'), 'skipped');
  });

  test('research-agent: the model lists the notes through a tool call, then answers as JSON', async () => {
    const r = await runExample('research-agent.yaml', 'Why did the freezer alarm go off?');
    const out = r.output as { evidence: string[] };
    assert.match(out.evidence[0] ?? '', /"name":"main\.ts"/);
    const calls = r.steps.find((s) => s.id === 'investigate')?.tool_calls ?? [];
    assert.deepEqual(calls.map((c) => [c.tool, c.method, c.status, c.node]), [['notes', 'list_dir', 'ok', 'example-node']]);
  });

  test('eu-data', async () => {
    const r = await runExample('eu-data.yaml', 'customers.json');
    assert.deepEqual(r.output, { aggregate: '{"SE":2,"PT":1,"DE":1,"FR":1}', records: 5 });
  });
});
