// The LLM generator through the real `openai` SDK against a small OpenAI-compatible server
// (the one allowed stand-in: no LLM is reachable here). Every request and answer crosses HTTP in
// the real chat-completions wire format.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startOpenAiServer, type ChatRequest, type OpenAiReply, type OpenAiTestServer } from '../harness/openai-server.js';
import { generateWorkflow, type GenerateContext, type MeshCapabilities } from '../../src/generate/index.js';
import { MeshError } from '../../src/protocol/errors.js';
import { validateWorkflowText } from '../../src/workflow/index.js';

const caps: MeshCapabilities = {
  nodes: [
    { name: 'n1', region: 'us-east', labels: {}, tools: ['filesystem', 'transform', 'echo'], models: ['test-model'], gpus: [] },
    { name: 'n2', region: 'eu-west', labels: { tier: 'fast' }, tools: ['transform', 'http'], models: [], gpus: [] },
  ],
};

type Step = Record<string, unknown>;
const step = (s: Step): Step => ({
  description: null, agent: null, input: null, tool: null, method: null, args_json: null,
  depends_on: null, output_to: null, condition: null, requires: null, loop: null, ...s,
});

function draft(over: { agents?: unknown[]; steps?: Step[]; name?: string } = {}): string {
  return JSON.stringify({
    name: over.name ?? 'Summarize Notes',
    description: 'summarize the input',
    agents: over.agents ?? [{ id: 'writer', model: 'test-model', system_prompt: 'You summarize.', temperature: null, requires: null }],
    tools: [{ id: 'fmt', type: 'transform', settings_json: null }],
    steps: over.steps ?? [
      step({ id: 'summarize', agent: 'writer', input: 'Summarize: ${user_input}' }),
      step({ id: 'format', tool: 'fmt', method: 'template', args_json: '{"template": "# Summary\\n{{s}}", "values": {"s": "${summarize.output}"}}', output_to: ['user'] }),
    ],
  });
}

const GOOD = draft();
/** Valid YAML shape, but the agent names a model no node offers and a step an unknown agent. */
const BAD = draft({
  agents: [{ id: 'writer', model: 'gpt-4o', system_prompt: 'x', temperature: null, requires: null }],
  steps: [step({ id: 'summarize', agent: 'ghost', input: '${user_input}', output_to: ['user'] })],
});
const UNPLACEABLE = draft({
  agents: [{ id: 'writer', model: 'gpt-4o', system_prompt: 'x', temperature: null, requires: null }],
  steps: [step({ id: 'summarize', agent: 'writer', input: '${user_input}', output_to: ['user'] })],
});

let server: OpenAiTestServer;
let replies: ((req: ChatRequest) => OpenAiReply)[] = [];

before(async () => {
  server = await startOpenAiServer((req) => {
    const next = replies.shift();
    return next ? next(req) : { status: 500, body: { error: { message: 'test ran out of replies', type: 'server_error' } } };
  });
});
after(() => server.close());

/** Queues answers and returns the requests this call made. */
async function run(answers: OpenAiReply[], llm: Partial<GenerateContext['llm']> = {}): Promise<{ result: Awaited<ReturnType<typeof generateWorkflow>>; requests: ChatRequest[] }> {
  const start = server.requests.length;
  replies = answers.map((a) => () => a);
  const result = await generateWorkflow(
    { description: 'summarize my notes', complexity: 'simple' },
    { capabilities: caps, llm: { base_url: server.url, model: 'test-model', max_retries: 0, ...llm } },
  );
  return { result, requests: server.requests.slice(start) };
}

async function failure(answers: OpenAiReply[], llm: Partial<GenerateContext['llm']> = {}): Promise<{ err: MeshError; requests: ChatRequest[] }> {
  const start = server.requests.length;
  try {
    await run(answers, llm);
  } catch (err) {
    assert.ok(err instanceof MeshError, `expected a MeshError, got ${String(err)}`);
    assert.equal(err.code, 'GENERATION_FAILED');
    return { err, requests: server.requests.slice(start) };
  }
  assert.fail('generation should have failed');
}

const userMessages = (r: ChatRequest): string => r.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');

describe('LLM generation against an OpenAI-compatible server', () => {
  test('a good first answer: one request, structured output, the mesh in the prompt, a valid workflow', async () => {
    const { result, requests } = await run([{ content: GOOD }]);
    assert.equal(requests.length, 1);
    assert.equal(result.generator, 'llm');
    assert.equal(result.rounds, 1);
    assert.equal(result.name, 'summarize-notes');
    assert.equal(result.validation.valid, true);
    const v = validateWorkflowText(result.yaml);
    assert.equal(v.valid, true, JSON.stringify(v.errors));
    const req = requests[0]!;
    assert.equal(req.model, 'test-model');
    const format = req.response_format as { type: string; json_schema: { name: string; strict: boolean } };
    assert.equal(format.type, 'json_schema');
    assert.equal(format.json_schema.strict, true);
    const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
    for (const fact of ['node "n1"', 'region=eu-west', 'test-model', 'tier=fast', 'list_dir']) assert.ok(system.includes(fact), `prompt lacks ${fact}`);
    assert.ok(userMessages(req).includes('summarize my notes'));
  });

  test('an invalid workflow is sent back with its errors and repaired on round 2', async () => {
    const { result, requests } = await run([{ content: BAD }, { content: GOOD }]);
    assert.equal(result.rounds, 2);
    assert.equal(requests.length, 2);
    const second = requests[1]!;
    assert.ok(userMessages(second).includes('unknown agent "ghost"'), userMessages(second));
    // The model sees its own previous answer, then the problems.
    assert.ok(second.messages.some((m) => m.role === 'assistant' && m.content === BAD));
  });

  test('a workflow that validates but cannot be placed on this mesh is repaired too', async () => {
    const { result, requests } = await run([{ content: UNPLACEABLE }, { content: GOOD }]);
    assert.equal(result.rounds, 2);
    assert.match(userMessages(requests[1]!), /serves model "gpt-4o"/);
  });

  test('a shell step is refused unless the caller asked for shell', async () => {
    const shellCaps: MeshCapabilities = { nodes: [{ ...caps.nodes[0]!, tools: [...caps.nodes[0]!.tools, 'shell'] }] };
    const shell = draft({ agents: [], steps: [step({ id: 'ls', tool: 'shell', method: 'run', args_json: '{"command": "ls"}', output_to: ['user'] })] });
    const start = server.requests.length;
    replies = [() => ({ content: shell }), () => ({ content: GOOD })];
    const r = await generateWorkflow({ description: 'list files' }, { capabilities: shellCaps, llm: { base_url: server.url, model: 'test-model', max_retries: 0 } });
    assert.equal(r.rounds, 2);
    const [first, second] = server.requests.slice(start);
    assert.match(first!.messages[0]!.content, /There is no shell tool/);
    assert.match(userMessages(second!), /step "ls" uses the shell tool/);
    replies = [() => ({ content: shell })];
    const asked = await generateWorkflow({ description: 'list files', tools: ['shell'] }, { capabilities: shellCaps, llm: { base_url: server.url, model: 'test-model', max_retries: 0 } });
    assert.equal(asked.rounds, 1);
    assert.match(server.requests.at(-1)!.messages[0]!.content, /- shell: run \{command/);
  });

  test('never validates: a clear error after N rounds, listing the last errors', async () => {
    const { err, requests } = await failure([{ content: BAD }, { content: BAD }, { content: BAD }], { max_repair_rounds: 2 });
    assert.equal(requests.length, 3);
    assert.match(err.message, /never validated after 3 round/);
    assert.match(err.message, /unknown agent "ghost"/);
  });

  test('malformed JSON every time: a "not JSON" error', async () => {
    const { err, requests } = await failure([{ content: '{"name": "x", ' }, { content: 'Sure! Here is your workflow:' }], { max_repair_rounds: 1 });
    assert.equal(requests.length, 2);
    assert.match(err.message, /\(not JSON\)/);
  });

  test('malformed JSON once is sent back and repaired', async () => {
    const { result, requests } = await run([{ content: '```yaml\nagents: []\n```' }, { content: GOOD }]);
    assert.equal(result.rounds, 2);
    assert.match(userMessages(requests[1]!), /was not JSON/);
  });

  test('JSON of the wrong shape is sent back with the schema problems', async () => {
    const { result, requests } = await run([{ content: JSON.stringify({ name: 'x', steps: 'none' }) }, { content: GOOD }]);
    assert.equal(result.rounds, 2);
    assert.match(userMessages(requests[1]!), /did not match the schema/);
  });

  test('a timeout names the endpoint and the limit', async () => {
    const { err } = await failure([{ delay_ms: 10_000, content: GOOD }], { timeout_ms: 300 });
    assert.match(err.message, /\(timeout\)/);
    assert.match(err.message, /300 ms/);
  });

  test('a refusal is reported as such, without repair rounds', async () => {
    const { err, requests } = await failure([{ refusal: 'I cannot help with that.' }]);
    assert.equal(requests.length, 1);
    assert.match(err.message, /\(refusal\).*I cannot help with that/);
  });

  test('an HTTP error from the endpoint names the status', async () => {
    const { err } = await failure([{ status: 401, body: { error: { message: 'bad key', type: 'invalid_request_error' } } }]);
    assert.match(err.message, /\(endpoint error\).*HTTP 401/);
  });

  test('an unreachable endpoint (a closed port)', async () => {
    const gone = await startOpenAiServer();
    const url = gone.url;
    await gone.close();
    await assert.rejects(
      generateWorkflow({ description: 'x' }, { capabilities: caps, llm: { base_url: url, model: 'm', max_retries: 0 } }),
      (err: unknown) => err instanceof MeshError && err.code === 'GENERATION_FAILED' && /\(unreachable\)/.test(err.message) && err.message.includes(url),
    );
  });

  test('no endpoint: --generator llm without configuration, or OpenAI without a key', async () => {
    await assert.rejects(
      generateWorkflow({ description: 'x', generator: 'llm' }, { capabilities: caps }),
      (err: unknown) => err instanceof MeshError && /\(no endpoint\)/.test(err.message),
    );
    await assert.rejects(
      generateWorkflow({ description: 'x' }, { capabilities: caps, llm: { model: 'gpt-4o-mini' } }),
      (err: unknown) => err instanceof MeshError && /\(no endpoint\)/.test(err.message) && /OPENAI_API_KEY/.test(err.message),
    );
  });

  test('auto picks the LLM when one is configured and the templates otherwise', async () => {
    const { result } = await run([{ content: GOOD }]);
    assert.equal(result.generator, 'llm');
    const offline = await generateWorkflow({ description: 'summarize my notes' }, { capabilities: caps });
    assert.equal(offline.generator, 'template');
    const forced = await generateWorkflow({ description: 'summarize my notes', generator: 'template' }, { capabilities: caps, llm: { base_url: server.url, model: 'test-model' } });
    assert.equal(forced.generator, 'template');
  });
});
