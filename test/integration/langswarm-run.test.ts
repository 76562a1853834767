/**
 * The LangSwarm fixtures (test/fixtures/langswarm), validated and run in sync mode against the
 * OpenAI-compatible test server, with the branch each run takes asserted. One config folder also
 * goes through the real CLI (`wfmesh validate DIR`, `wfmesh run DIR`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSync } from '../../src/cli/commands/run.js';
import type { ExecutionRecord } from '../../src/protocol/execution.js';
import { formatIssue, validateWorkflowFiles, validateWorkflowText, type ValidationResult, type WorkflowDocument } from '../../src/workflow/index.js';
import { startOpenAiServer, type ChatRequest, type OpenAiTestServer } from '../harness/openai-server.js';
import { spawnCli } from '../harness/processes.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/langswarm/', import.meta.url));
const folder = (name: string): Record<string, string> =>
  Object.fromEntries(readdirSync(join(FIXTURES, name)).map((f) => [f, readFileSync(join(FIXTURES, name, f), 'utf8')]));
const file = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** What each agent answers, by the start of its system prompt; set per test. */
let replies: Record<string, string> = {};
let llm: OpenAiTestServer;
const saved = { base: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY, model: process.env.WFMESH_MODEL };

function reply(req: ChatRequest): { content: string } {
  const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
  for (const [start, content] of Object.entries(replies)) if (system.startsWith(start)) return { content };
  const user = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  return { content: `reply to: ${user}` };
}

before(async () => {
  llm = await startOpenAiServer(reply);
  process.env.OPENAI_BASE_URL = llm.url;
  process.env.OPENAI_API_KEY = 'test';
  // Agents without a model run on the node's first model.
  process.env.WFMESH_MODEL = 'node-default-model';
});

after(async () => {
  await llm.close();
  for (const [k, v] of [['OPENAI_BASE_URL', saved.base], ['OPENAI_API_KEY', saved.key], ['WFMESH_MODEL', saved.model]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function doc(r: ValidationResult): WorkflowDocument {
  assert.deepEqual(r.errors.map(formatIssue), []);
  assert.ok(r.document);
  return r.document;
}

async function run(document: WorkflowDocument, workflow: string, input: string): Promise<ExecutionRecord> {
  const record = await runSync(document, workflow, input, [], new AbortController().signal);
  assert.equal(record.status, 'completed', JSON.stringify(record.error));
  return record;
}

const statuses = (r: ExecutionRecord): Record<string, string> => Object.fromEntries(r.steps.map((s) => [s.id, s.status]));

describe('a LangSwarm config folder runs with LangSwarm meanings', () => {
  const support = (): WorkflowDocument => doc(validateWorkflowFiles(folder('support')));

  test('the quoted condition takes then when the classifier says bug, else otherwise', async () => {
    replies = { 'Classify the ticket': 'bug', 'Write an escalation': 'paged the on-call engineer' };
    const bug = await run(support(), 'support_flow', 'the app crashes on start');
    assert.deepEqual(statuses(bug), { classify: 'completed', escalate: 'completed', answer: 'skipped' });
    assert.equal(bug.output, 'paged the on-call engineer');

    replies = { 'Classify the ticket': 'question' };
    const question = await run(support(), 'support_flow', 'how do I export?');
    assert.deepEqual(statuses(question), { classify: 'completed', escalate: 'skipped', answer: 'completed' });
    assert.equal(question.output, 'reply to: how do I export?');
  });

  test('a field of a JSON reply picks the branch; a plain-text reply takes else (mcp_call to a local tool)', async () => {
    replies = { [BEHAVIOR_START]: '{"severity": "high"}', 'Write an escalation': 'paged' };
    const high = await run(support(), 'triage_flow', 'database down');
    assert.deepEqual(statuses(high), { triage: 'completed', page: 'completed', log: 'skipped' });
    const triageCall = llm.requests.find((r) => r.messages.some((m) => m.content === 'database down'));
    assert.equal(triageCall?.model, 'node-default-model');
    assert.deepEqual(triageCall?.response_format, { type: 'json_object' });

    // A JSON reply without the field: else, as in LangSwarm.
    replies = { [BEHAVIOR_START]: '{"summary": "cosmetic"}' };
    const low = await run(support(), 'triage_flow', 'typo on the homepage');
    assert.deepEqual(statuses(low), { triage: 'completed', page: 'skipped', log: 'completed' });
    assert.match(String(low.steps.find((s) => s.id === 'triage')?.warnings?.[0]), /did not resolve .*"severity"/);
    // The mcp_call step went to the `notes` tool (an echo), with the triage reply as its note.
    assert.deepEqual(low.output, { note: { summary: 'cosmetic' } });
  });

  test('a plain-text reply where a field is read takes else; a JSON one with the field takes then', async () => {
    replies = { 'Classify the ticket': 'bug' };
    const plain = await run(support(), 'kind_flow', 'it crashes');
    assert.deepEqual(statuses(plain), { sort: 'completed', escalate_kind: 'skipped', answer_kind: 'completed' });
    // Never silent: the row of the step whose condition read the missing field says which.
    const warnings = plain.steps.find((s) => s.id === 'sort')?.warnings ?? [];
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0] as string, /^condition: \$\{.*sort.*kind\} did not resolve \(.*has no field "kind"\)/);
    replies = { 'Classify the ticket': '{"kind": "bug"}', 'Write an escalation': 'escalated' };
    const json = await run(support(), 'kind_flow', 'it crashes');
    assert.deepEqual(statuses(json), { sort: 'completed', escalate_kind: 'completed', answer_kind: 'skipped' });
    assert.equal(json.output, 'escalated');
  });
});

describe('run variables, text workflows, siblings', () => {
  test('inputs, output_key, ${previous_output} and {step: X}', async () => {
    replies = { 'Return the request': 'export the report', 'Plan the work': '1. open 2. export' };
    const r = await run(doc(validateWorkflowText(file('run-variables.yaml'))), 'plan_and_write', '{"user_query": "export it"}');
    assert.deepEqual(statuses(r), { normalize: 'completed', plan: 'completed', write: 'completed' });
    const users = llm.requests.slice(-3).map((q) => q.messages.at(-1)?.content);
    assert.match(users[0] ?? '', /"user_query":\s*"export it"/);
    assert.equal(users[1], 'Plan for: export the report');
    assert.equal(users[2], 'Write from this plan: 1. open 2. export');
  });

  test('${context.step_outputs} alone is every output so far, by step id', async () => {
    replies = { 'Write the answer': 'first draft' };
    const r = await run(doc(validateWorkflowText(file('run-variables.yaml'))), 'review_all', 'write it');
    assert.deepEqual(statuses(r), { draft: 'completed', review: 'completed' });
    assert.equal(llm.requests.at(-1)?.messages.at(-1)?.content, 'Review all of it: {"draft":"first draft"}');
  });

  test('the V1 loop runs its body step once per item', async () => {
    replies = {};
    const r = await run(doc(validateWorkflowText(file('v1-loop.yaml'))), 'describe_each', '');
    assert.deepEqual(r.output, { descriptions: ['reply to: Item: apple', 'reply to: Item: pear'] });
  });

  test('"router -> (technical | billing) -> user" follows the router', async () => {
    const d = doc(validateWorkflowText(file('text-workflows.yaml')));
    replies = { 'Reply with the team': 'billing, please' };
    const r = await run(d, 'simple_workflow_1', 'I was charged twice');
    assert.deepEqual(statuses(r), { step_1_router: 'completed', step_2_technical: 'skipped', step_3_billing: 'completed' });
    const parallel = await run(d, 'simple_workflow_2', 'hi');
    assert.ok(parallel.steps.every((s) => s.status === 'completed'));
  });

  test('a file whose other workflow is refused still runs the valid one with --workflow', async () => {
    const r = await run(doc(validateWorkflowText(file('mixed.yaml'), { workflow: 'good_one' })), 'good_one', 'hello');
    assert.equal(r.output, 'reply to: hello');
  });
});

describe('more LangSwarm spellings, run', () => {
  test('fan-out to two writers, fan-in at the step that lists them in args.steps: it runs once, after both', async () => {
    replies = { 'Outline the subject': 'tea' };
    const d = doc(validateWorkflowText(file('fan-in.yaml')));
    const r = await run(d, 'sections', 'tea');
    assert.deepEqual(statuses(r), { outline: 'completed', pros: 'completed', cons: 'completed', join_sides: 'completed' });
    assert.equal(r.output, 'reply to: reply to: Pros of tea | reply to: Cons of tea');
    const barrier = await run(d, 'barrier', 'map');
    assert.deepEqual(barrier.output, { gate: 'ready', sides: ['north', 'south'] });
  });

  test('unquoted conditions: a field the reply leaves out takes else, noted on the row; != None tests presence', async () => {
    const d = doc(validateWorkflowText(file('conditions.yaml')));
    replies = { 'Screen the message': '{"risk": 2}' };
    const calm = await run(d, 'screen', 'hello');
    assert.deepEqual(statuses(calm), { check: 'completed', hold: 'skipped', reply: 'completed' });
    assert.equal(calm.steps.find((s) => s.id === 'check')?.warnings, undefined, 'an absent field compared with None is not a miss');
    replies = { 'Screen the message': '{"risk": 2, "flag": "spam"}' };
    assert.deepEqual(statuses(await run(d, 'screen', 'buy now')), { check: 'completed', hold: 'completed', reply: 'skipped' });
    replies = { 'Screen the message': '{"note": "no score"}' };
    const unsure = await run(d, 'screen', 'hm');
    assert.deepEqual(statuses(unsure), { check: 'completed', hold: 'skipped', reply: 'completed' });
    assert.match(String(unsure.steps.find((s) => s.id === 'check')?.warnings?.[0]), /^condition: \$\{context\.step_outputs\.check\.risk\} did not resolve \(.*no field "risk".*\); the condition was taken as false/);
  });

  test('exists counts empty text as absent; is not None', async () => {
    const d = doc(validateWorkflowText(file('conditions.yaml')));
    const route = async (reply: string): Promise<string | undefined> => {
      replies = { 'Screen the message': reply };
      const r = await run(d, 'identify', 'me');
      return r.steps.find((s) => s.status === 'completed' && s.id !== 'lookup' && s.id !== 'by_mail')?.id;
    };
    assert.equal(await route('{"account": "A1"}'), 'known');
    assert.equal(await route('{"account": "", "mail": "a@b.example"}'), 'known_by_mail');
    assert.equal(await route('{"account": null, "mail": null}'), 'stranger');
  });

  test('V1 loops: max runs the first items; a plain reply holding a JSON list is the list', async () => {
    const d = doc(validateWorkflowText(file('v1-loop-max.yaml')));
    const two = await run(d, 'first_two', '');
    assert.deepEqual(two.output, [{ hello: 'Oslo' }, { hello: 'Lima' }]);
    replies = { 'Reply with a JSON list': '["Quito", "Riga"]' };
    const picked = await run(d, 'picked', 'two cities');
    assert.deepEqual(picked.output, [{ city: 'Quito' }, { city: 'Riga' }]);
  });

  test('text workflows in {id, simple} form and without -> user answer with the last agent', async () => {
    const d = doc(validateWorkflowText(file('text-entries.yaml')));
    replies = { 'You are a creative writer.': 'a sketch' };
    const r = await run(d, 'sketch_and_critique', 'a boat');
    assert.equal(r.output, 'reply to: a sketch');
    assert.equal((await run(d, 'simple_workflow_3', 'a boat')).output, 'reply to: a sketch');
  });

  test('mcp_call with arguments under args, or as JSON text, reaches the tool with them', async () => {
    const r = await run(doc(validateWorkflowText(file('mcp-call-payloads.yaml'))), 'entries', 'rent');
    assert.deepEqual(r.output, { first: { entry: 'rent' }, second: { entry: 'opening balance', amount: 10 } });
  });
});

describe('faults load as in LangSwarm and fail only where a run reaches them', () => {
  const faults = (): WorkflowDocument => doc(validateWorkflowText(file('faults.yaml')));
  const failed = async (document: WorkflowDocument, workflow: string, input: string): Promise<ExecutionRecord> => {
    const record = await runSync(document, workflow, input, [], new AbortController().signal);
    assert.equal(record.status, 'failed', JSON.stringify(record));
    return record;
  };

  test('validation warns about each fault (strict refuses them)', () => {
    const r = validateWorkflowText(file('faults.yaml'));
    assert.equal(r.valid, true);
    assert.deepEqual(r.faults.map((f) => f.line), [28, 43]);
    assert.match(formatIssue(r.faults[0] as never), /unknown agent "escalater" \(did you mean "escalator"\?\).*a run that reaches step "escalate" fails there/);
    assert.match(formatIssue(r.faults[1] as never), /output\.to names unknown step "publish_result": a run that takes this route fails there/);
    assert.equal(validateWorkflowText(file('faults.yaml'), { strict: true }).valid, false);
  });

  test('the branch with the unknown agent fails there; the other branch completes', async () => {
    replies = { 'Classify the request': 'question' };
    const question = await run(faults(), 'triage', 'how do I export?');
    assert.deepEqual(statuses(question), { classify: 'completed', escalate: 'skipped', answer: 'completed' });

    replies = { 'Classify the request': 'bug' };
    const before = llm.requests.length;
    const bug = await failed(faults(), 'triage', 'it crashes');
    assert.deepEqual(statuses(bug), { classify: 'completed', escalate: 'failed', answer: 'skipped' });
    assert.match(String(bug.error?.message), /step "escalate" cannot run: unknown agent "escalater"/);
    const escalateRequests = llm.requests.slice(before).filter((q) => q.messages.some((m) => m.role === 'system' && m.content.startsWith('Write an escalation')));
    assert.equal(escalateRequests.length, 0, 'the faulted step never called a model');
  });

  test('a route to no step fails only when taken', async () => {
    replies = {};
    const done = await run(faults(), 'report', 'quarterly numbers');
    assert.equal(done.output, 'reply to: quarterly numbers');
    replies = { [HELPFUL_START]: 'send' };
    const sent = await failed(faults(), 'report', 'quarterly numbers');
    assert.equal(statuses(sent).summarize, 'failed');
    assert.match(String(sent.error?.message), /step "summarize" routes to "publish_result", which is no step of this workflow/);
  });
});

describe('the CLI loads a config folder', () => {
  test('wfmesh validate DIR and wfmesh run DIR --mode sync', async () => {
    const dir = join(FIXTURES, 'support');
    const v = spawnCli(['validate', dir]);
    const vr = await v.exited;
    assert.equal(vr.code, 0, v.stderr());
    assert.match(v.stdout(), /support: valid/);
    assert.match(v.stderr(), /support\/agents\.yaml:5 agents\[0\]\.name: warning: agent key "name" is ignored/);
    replies = {};
    const p = spawnCli(['run', dir, '--mode', 'sync', '--workflow', 'support_flow', '--input', 'hello'], {
      env: { OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: 'test', WFMESH_MODEL: 'm' },
    });
    const pr = await p.exited;
    assert.equal(pr.code, 0, p.stderr());
    // The classifier answered "reply to: hello", not "bug": the else branch answered.
    assert.equal(p.stdout(), 'reply to: hello\n');
  });
});

/** The analytical behaviour preset's prompt starts with this. */
const BEHAVIOR_START = 'You are an analyst.';
const HELPFUL_START = 'You are a helpful assistant.';
