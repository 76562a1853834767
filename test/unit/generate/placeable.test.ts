import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPlaceable } from '../../../src/generate/index.js';
import { loadWorkflowDocument } from '../../../src/workflow/index.js';
import { threeNodeMesh } from './meshes.js';

const doc = (yaml: string) => loadWorkflowDocument(yaml);

describe('checkPlaceable', () => {
  test('a workflow every step of which some node can run: no problems', () => {
    const d = doc(`
agents: [{id: a, model: llama3.1:8b, system_prompt: x, requires: {gpu: {vendor: nvidia, min_vram_mib: 80000}}}]
workflows:
  main:
    steps:
      - {id: s1, agent: a, input: "\${user_input}"}
      - {id: s2, tool: http, method: request, args: {url: "https://x"}, requires: {region: eu-west}}
      - {id: s3, tool: transform, method: length, args: {value: x}, requires: {region: "us-*"}}
`);
    assert.deepEqual(checkPlaceable(d, threeNodeMesh()), []);
  });

  test('names the model, tool or constraint nobody meets, per step', () => {
    const d = doc(`
agents:
  - {id: big, model: gpt-4o, system_prompt: x}
  - {id: eu, model: llama3.1:8b, system_prompt: x, requires: {region: eu-west}}
workflows:
  main:
    steps:
      - {id: a, agent: big, input: "\${user_input}"}
      - {id: b, agent: eu, input: "\${user_input}"}
      - {id: c, tool: shell, method: run, args: {command: ls}}
      - {id: d, tool: sleep, args: {ms: 1}, requires: {gpu: true}}
      - {id: e, tool: echo, args: {}, requires: {labels: {tier: gold}}}
`);
    const p = checkPlaceable(d, threeNodeMesh());
    assert.equal(p.length, 5, p.join('\n'));
    assert.match(p[0]!, /step "a".*serves model "gpt-4o"/);
    assert.match(p[1]!, /step "b".*no single live node meets all of .*region = eu-west.*llama3\.1:8b/);
    assert.match(p[2]!, /step "c".*offers tool "shell"/);
    assert.match(p[3]!, /step "d".*no single live node/);
    assert.match(p[4]!, /step "e".*labels\.tier = gold/);
  });

  test('loop bodies are checked; a step requires overrides its agent', () => {
    const d = doc(`
agents: [{id: a, model: gpt-4o-mini, system_prompt: x, requires: {region: us-east}}]
workflows:
  main:
    steps:
      - id: each
        loop: {for_each: [1, 2], var: n, body: [{id: inner, agent: a, input: "\${n}", requires: {region: eu-west}}]}
`);
    assert.deepEqual(checkPlaceable(d, threeNodeMesh()), []);
    assert.equal(checkPlaceable(d, { nodes: [] }).length, 1);
  });
});
