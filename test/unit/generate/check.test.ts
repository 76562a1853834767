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
      c.validation.errors.map((e) => `${e.path}: ${e.message}`),
      ['workflows.main.steps[0].input: ${topic}: "topic" is not a variable here: use user_input, context.*, STEP.output, env.NAME'],
    );
    assert.ok(!c.validation.warnings.some((w) => /run input's field/.test(w.message)), 'an error, not also a warning');
  });

  test('declared in inputs, or the run input itself: it passes', () => {
    for (const yaml of [workflow('Write about ${topic}', 'inputs: [topic]'), workflow('Write about ${user_input}')]) {
      const c = checkCandidate(yaml, threeNodeMesh());
      assert.deepEqual(c.validation.errors, [], yaml);
      assert.ok(c.document);
    }
  });
});
