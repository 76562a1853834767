import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCandidate } from '../../../src/generate/check.js';
import { threeNodeMesh } from './meshes.js';

const workflow = (input: string, inputs = '') => `
agents: [{id: writer, model: llama3.1:8b, system_prompt: Write.}]
workflows:
  main:
    ${inputs}
    steps:
      - {id: draft, agent: writer, input: "${input}", output: {to: user}}
`;

describe('the gate of a generated workflow', () => {
  test('an undeclared ${NAME}, which a LangSwarm file may read from the run input, is an error naming it', () => {
    const c = checkCandidate(workflow('Write about ${topic}'), threeNodeMesh());
    assert.equal(c.validation.valid, false);
    assert.equal(c.document, undefined);
    assert.deepEqual(
      c.validation.errors.map((e) => e.message),
      ["${topic}: no such variable: read ${user_input}, a step's ${ID.output}, or list the name under the workflow's inputs"],
    );
    assert.ok(!c.validation.warnings.some((w) => /run input's field/.test(w.message)), 'reported once, as the error');
  });

  test('declared in inputs, or the run input itself: it passes', () => {
    for (const yaml of [workflow('Write about ${topic}', 'inputs: [topic]'), workflow('Write about ${user_input}')]) {
      const c = checkCandidate(yaml, threeNodeMesh());
      assert.deepEqual(c.validation.errors, [], yaml);
      assert.ok(c.document);
    }
  });
});
