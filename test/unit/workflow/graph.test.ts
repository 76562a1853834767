import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWorkflowDocument, stepGraph, validateWorkflowText, type Step } from '../../../src/workflow/index.js';

function stepsOf(yaml: string): Step[] {
  const doc = loadWorkflowDocument(yaml);
  return doc.workflows[doc.defaultWorkflow]?.steps ?? [];
}

const edges = (steps: Step[]): string[] =>
  [...stepGraph(steps).out.values()].flat().map((e) => `${e.from}->${e.to}${e.always ? '' : '?'}${e.back ? ' back' : ''}`).sort();

describe('step graph', () => {
  test('a sequence: steps without output continue to the next; only the first starts', () => {
    const steps = stepsOf(`
workflows:
  w:
    - {id: a, tool: echo}
    - {id: b, tool: echo, output: {to: [{condition: {if: "true", then: d, else: c}}]}}
    - {id: c, tool: echo}
    - {id: d, tool: echo, output: {to: user}}
`);
    const g = stepGraph(steps);
    assert.equal(g.mode, 'sequence');
    assert.deepEqual(g.roots, ['a']);
    assert.deepEqual(edges(steps), ['a->b', 'b->c?', 'b->d?', 'c->d']);
    assert.equal(stepGraph(steps), g, 'built once per step list');
  });

  test('a graph: depends_on switches off the implicit sequence; independent steps are roots', () => {
    const steps = stepsOf(`
workflows:
  w:
    - {id: a, tool: echo}
    - {id: b, tool: echo}
    - {id: c, depends_on: [a, b], tool: echo, output: {to: [d, e]}}
    - {id: d, tool: echo}
    - {id: e, tool: echo}
`);
    const g = stepGraph(steps);
    assert.equal(g.mode, 'graph');
    assert.deepEqual(g.roots, ['a', 'b']);
    assert.deepEqual(edges(steps), ['a->c', 'b->c', 'c->d?', 'c->e?']);
  });

  test('an edge that closes a cycle is a back edge; forward edges stay acyclic', () => {
    const steps = stepsOf(`
workflows:
  w:
    - {id: a, tool: echo, max_visits: 2, output: {to: b}}
    - {id: b, tool: echo, output: {to: [{condition: {if: "true", then: a, else: user}}]}}
`);
    assert.deepEqual(edges(steps), ['a->b?', 'b->a? back']);
    assert.deepEqual(stepGraph(steps).in.get('a'), []);
  });

  test('LangSwarm {{ }} placeholders in agent input draw a warning', () => {
    const r = validateWorkflowText(`
agents: [{id: s, model: m}]
workflows: {w: [{agent: s, input: "Summarize {{ context.user_input }}"}]}
`);
    assert.equal(r.valid, true);
    assert.match(r.warnings[0]?.message ?? '', /write variables as \$\{context\.user_input\}/);
  });
});
