import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStepExecutor, type StepExecutor } from '../../src/executor/index.js';
import type { AgentSpec, StepTask } from '../../src/protocol/step.js';
import { startOpenAiServer, type OpenAiTestServer } from '../harness/openai-server.js';
import { never, rejectsWith, testEnv } from '../unit/executor/helpers.js';

let llm: OpenAiTestServer;
let ex: StepExecutor;
const agentTask = (agent: Partial<AgentSpec>, input: unknown): StepTask => ({ kind: 'agent', agent: { id: 'writer', model: 'test-model', ...agent }, input });

before(async () => {
  llm = await startOpenAiServer((req) => {
    const last = req.messages.at(-1)?.content ?? '';
    switch (req.model) {
      case 'broken': return { status: 500, body: { error: { message: 'the GPU is on fire', type: 'server_error' } } };
      case 'limited': return { status: 429, body: { error: { message: 'slow down', type: 'rate_limit' } } };
      case 'unknown': return { status: 404, body: { error: { message: 'model "unknown" not found', type: 'invalid_request_error' } } };
      case 'slow': return { delay_ms: 5_000, content: 'too late' };
      case 'prude': return { refusal: 'I cannot help with that.' };
      case 'mute': return { content: '' };
      case 'json': return { content: '{"title": "Hi", "n": 2}' };
      case 'fenced': return { content: '```json\n{"ok": true}\n```' };
      case 'notjson': return { content: 'certainly! here it is' };
      default: return { content: `reply to: ${last}` };
    }
  });
  ex = createStepExecutor(testEnv({ llm: { base_url: llm.url, api_key: 'sk-test', models: ['test-model'], timeout_ms: 300 } }));
});
after(() => llm.close());

describe('agent steps through the openai SDK', () => {
  test('sends system prompt, input, model, temperature and max_tokens; returns the content', async () => {
    const out = await ex.execute(agentTask({ system_prompt: 'Be brief.', temperature: 0.2, max_tokens: 50 }, 'hello'), never());
    assert.equal(out, 'reply to: hello');
    const sent = llm.requests.at(-1)!;
    assert.equal(sent.model, 'test-model');
    assert.equal(sent.temperature, 0.2);
    assert.equal(sent.max_tokens, 50);
    assert.deepEqual(sent.messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }]);
  });

  test('a non-string input is sent as JSON', async () => {
    await ex.execute(agentTask({}, { q: 'x', n: [1] }), never());
    const sent = llm.requests.at(-1)!;
    assert.equal(sent.messages.length, 1);
    assert.deepEqual(JSON.parse(sent.messages[0]!.content), { q: 'x', n: [1] });
  });

  test('response_format json parses the reply (fenced too) and asks for a JSON object', async () => {
    assert.deepEqual(await ex.execute(agentTask({ model: 'json', response_format: 'json' }, 'x'), never()), { title: 'Hi', n: 2 });
    assert.deepEqual(llm.requests.at(-1)!.response_format, { type: 'json_object' });
    assert.deepEqual(await ex.execute(agentTask({ model: 'fenced', response_format: 'json' }, 'x'), never()), { ok: true });
    await rejectsWith(ex.execute(agentTask({ model: 'notjson', response_format: 'json' }, 'x'), never()), 'agent_error', /not valid JSON .*certainly/);
  });

  test('HTTP errors name the status and the message; retryable only when it helps', async () => {
    const f500 = await rejectsWith(ex.execute(agentTask({ model: 'broken' }, 'x'), never()), 'agent_error', /answered HTTP 500: the GPU is on fire/);
    assert.equal(f500.retryable, true);
    assert.equal((await rejectsWith(ex.execute(agentTask({ model: 'limited' }, 'x'), never()), 'agent_error', /HTTP 429/)).retryable, true);
    assert.equal((await rejectsWith(ex.execute(agentTask({ model: 'unknown' }, 'x'), never()), 'agent_error', /HTTP 404: model "unknown" not found/)).retryable, false);
  });

  test('timeout, cancel, refusal and empty replies fail clearly', async () => {
    await rejectsWith(ex.execute(agentTask({ model: 'slow' }, 'x'), never()), 'agent_error', /timed out after 300 ms/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const slowEx = createStepExecutor(testEnv({ llm: { base_url: llm.url, timeout_ms: 10_000 } }));
    await rejectsWith(slowEx.execute(agentTask({ model: 'slow' }, 'x'), ac.signal), 'cancelled');
    const refused = await rejectsWith(ex.execute(agentTask({ model: 'prude' }, 'x'), never()), 'agent_error', /refused: I cannot help with that/);
    assert.equal(refused.retryable, false);
    await rejectsWith(ex.execute(agentTask({ model: 'mute' }, 'x'), never()), 'agent_error', /empty reply \(finish_reason: stop\)/);
  });

  test('an agent base_url on an allowed host beats the node endpoint; unreachable and missing endpoints fail clearly', async () => {
    const allowed = createStepExecutor(testEnv({ allow: { http_hosts: ['127.0.0.1'] }, llm: { base_url: llm.url, api_key: 'sk-test', models: ['test-model'], timeout_ms: 300 } }));
    const other = await startOpenAiServer(() => ({ content: 'from the other endpoint' }));
    try {
      assert.equal(await allowed.execute(agentTask({ base_url: other.url }, 'x'), never()), 'from the other endpoint');
    } finally {
      await other.close();
    }
    await rejectsWith(allowed.execute(agentTask({ base_url: other.url }, 'x'), never()), 'agent_error', /cannot reach LLM endpoint http:\/\/127\.0\.0\.1:\d+\/v1: .*ECONNREFUSED/);
    const saved = process.env.OPENAI_BASE_URL;
    delete process.env.OPENAI_BASE_URL;
    try {
      const none = createStepExecutor(testEnv());
      await rejectsWith(none.execute(agentTask({}, 'x'), never()), 'unsupported', /^no LLM endpoint configured: set OPENAI_BASE_URL or llm\.base_url$/);
    } finally {
      if (saved !== undefined) process.env.OPENAI_BASE_URL = saved;
    }
  });

  test("a workflow's base_url never receives the node's key, and must be on an allowed host", async () => {
    // The "attacker": an OpenAI-compatible endpoint a workflow names in its agent's base_url.
    const attacker = await startOpenAiServer(() => ({ content: 'thanks for the key' }));
    try {
      // Not in allow.http_hosts: refused before any connection is made.
      await rejectsWith(ex.execute(agentTask({ base_url: attacker.url }, 'secret prompt'), never()), 'denied', /base_url: host "127\.0\.0\.1:\d+" refused: this node allows no outbound hosts/);
      const other = createStepExecutor(testEnv({ allow: { http_hosts: ['api.example.com'] }, llm: { base_url: llm.url, api_key: 'sk-test', models: ['test-model'], timeout_ms: 300 } }));
      await rejectsWith(other.execute(agentTask({ base_url: attacker.url }, 'x'), never()), 'denied', /is not in this node's allow-list/);
      assert.equal(attacker.requests.length, 0, 'a refused endpoint is never contacted');
      // Allowed host: it is called, but with a placeholder key, never the node's.
      const allowed = createStepExecutor(testEnv({ allow: { http_hosts: ['127.0.0.1'] }, llm: { base_url: llm.url, api_key: 'sk-test', models: ['test-model'], timeout_ms: 1_000 } }));
      assert.equal(await allowed.execute(agentTask({ base_url: attacker.url }, 'x'), never()), 'thanks for the key');
      assert.equal(attacker.authorizations.length, 1);
      assert.ok(!attacker.authorizations.some((a) => a?.includes('sk-test')), `the attacker saw ${attacker.authorizations.join(', ')}`);
      // The node's own endpoint, named explicitly (even spelled differently), still gets the key.
      const before = llm.authorizations.length;
      await allowed.execute(agentTask({ base_url: `${llm.url}/` }, 'x'), never());
      assert.equal(llm.authorizations.at(before), 'Bearer sk-test');
    } finally {
      await attacker.close();
    }
  });
});
