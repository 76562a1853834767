/**
 * MCP with a LangSwarm config folder: validate_workflow, execute_workflow and save_workflow take
 * `files` (file name → YAML) instead of `yaml`, on a real node over the SDK's own client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { MeshNode } from '../../src/node/index.js';
import { startTestNats, type TestNats } from '../harness/nats.js';
import { startTestNode, stopAll } from '../harness/nodes.js';
import { call, connectHttp, mcpUrl, structured, text, type ExecutionView } from './mcp-helpers.js';

const FILES = {
  'tools.yaml': 'tools:\n  - id: notes\n    type: echo\n',
  'workflows.yaml': [
    'workflows:',
    '  main_workflow:',
    '    - id: keep_note',
    '      steps:',
    '        - id: save',
    '          function: langswarm.core.utils.workflows.functions.mcp_call',
    '          args:',
    '            mcp_url: "local://notes"',
    '            payload: {name: echo, arguments: {note: "${user_input}"}}',
    '          output: {to: user}',
    '',
  ].join('\n'),
};

describe('MCP takes a LangSwarm config folder as files', () => {
  let nats: TestNats;
  let node: MeshNode;
  let client: Client;

  before(async () => {
    nats = await startTestNats();
    node = await startTestNode(nats.url, { name: 'ls-files' });
    client = await connectHttp(mcpUrl(node));
  });
  after(async () => {
    await client?.close();
    await stopAll([node].filter(Boolean));
    await nats?.stop();
  });

  test('validate_workflow: valid, and an error names its file and line', async () => {
    const ok = structured<{ valid: boolean }>(await call(client, 'validate_workflow', { files: FILES }));
    assert.equal(ok.valid, true);
    const bad = structured<{ valid: boolean; errors: { file?: string; path: string; line?: number; message: string }[] }>(
      await call(client, 'validate_workflow', { files: { ...FILES, 'tools.yaml': 'tools:\n  - id: notes\n    type: echo\n  - id: notes\n    type: echo\n' } }),
    );
    assert.equal(bad.valid, false);
    assert.deepEqual(bad.errors.map((e) => [e.file, e.line, e.path]), [['tools.yaml', 4, 'tools[1]']]);
    // Invalid arguments are a tool result the model can act on (MCP 2025-11-25, SEP-1303).
    const none = await call(client, 'validate_workflow', {});
    assert.equal(none.isError, true);
    assert.match(text(none), /give yaml or files/);
  });

  test('execute_workflow and save_workflow run and keep the merged document', async () => {
    const res = await call(client, 'execute_workflow', { files: FILES, input: 'buy milk', mode: 'sync' });
    assert.equal(res.isError, undefined, text(res));
    const run = structured<ExecutionView>(res);
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.output, { note: 'buy milk' });
    const saved = structured<{ name: string; workflows: string[] }>(await call(client, 'save_workflow', { name: 'notes-folder', files: FILES }));
    assert.deepEqual(saved.workflows, ['keep_note']);
    const again = await call(client, 'execute_workflow', { workflow_name: 'notes-folder', input: 'eggs', mode: 'sync' });
    assert.deepEqual(structured<ExecutionView>(again).output, { note: 'eggs' });
    const refused = await call(client, 'execute_workflow', { files: { 'workflows.yaml': 'workflows: [\n' }, mode: 'sync' });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /invalid workflow files:\nworkflows\.yaml line \d+: YAML:/);
  });
});
