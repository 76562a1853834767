import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { zodResponseFormat } from 'openai/helpers/zod';
import { draftToDocument, WorkflowDraftSchema, type StepDraft, type WorkflowDraft } from '../../../src/generate/draft.js';
import { buildSystemPrompt, repairPrompt } from '../../../src/generate/prompt.js';
import { renderWorkflowYaml } from '../../../src/generate/render.js';
import { defaultCapabilities } from '../../../src/generate/index.js';
import { validateWorkflowText } from '../../../src/workflow/index.js';
import { threeNodeMesh } from './meshes.js';

const step = (s: Partial<StepDraft> & { id: string }): StepDraft => ({
  description: null, agent: null, input: null, tool: null, method: null, args_json: null,
  depends_on: null, output_to: null, condition: null, requires: null, loop: null, ...s,
});

describe('the LLM draft', () => {
  test('its JSON schema passes the SDK strict-mode conversion and stays in the strict subset', () => {
    const f = zodResponseFormat(WorkflowDraftSchema, 'wfmesh_workflow');
    assert.equal(f.json_schema.strict, true);
    const schema = f.json_schema.schema as Record<string, unknown>;
    assert.equal(schema.additionalProperties, false);
    // Strict servers refuse number bounds and more than five levels of nested objects.
    const text = JSON.stringify(schema);
    assert.doesNotMatch(text, /"(minimum|maximum|exclusiveMinimum|exclusiveMaximum)"/);
    const depth = (node: unknown): number => {
      if (Array.isArray(node)) return Math.max(0, ...node.map(depth));
      if (node === null || typeof node !== 'object') return 0;
      const o = node as Record<string, unknown>;
      const below = Math.max(0, ...Object.values(o).map(depth));
      return o.type === 'object' || (Array.isArray(o.type) && o.type.includes('object')) ? below + 1 : below;
    };
    assert.ok(depth(schema) <= 5, `object nesting ${depth(schema)}`);
  });

  test('becomes a valid workflow: loop, condition, requires, JSON args', () => {
    const draft: WorkflowDraft = {
      name: 'triage',
      description: 'd',
      agents: [{ id: 'clf', model: 'llama3.1:8b', system_prompt: 'x', temperature: 0, requires: { gpu: true, gpu_min_vram_mib: null, gpu_vendor: 'NVIDIA', region: null, labels: null } }],
      tools: [{ id: 'fs', type: 'filesystem', settings_json: '{"root": "data"}' }],
      steps: [
        step({ id: 'list', tool: 'fs', method: 'list_dir', args_json: '{"path": "."}' }),
        step({
          id: 'each',
          depends_on: ['list'],
          loop: { for_each: '${list.output}', var: 'f', max: 50, body: [step({ id: 'rate', agent: 'clf', input: 'Rate ${f.name}' })] },
          condition: { if: '${each.output} contains "bad"', then: 'alarm', else: null },
        }),
        step({ id: 'alarm', tool: 'echo', args_json: '{"alert": true}', output_to: ['user'], requires: { gpu: null, gpu_min_vram_mib: null, gpu_vendor: null, region: ['eu-west'], labels: ['tier=x'] } }),
      ],
    };
    const { document, problems } = draftToDocument(draft);
    assert.deepEqual(problems, []);
    const yaml = renderWorkflowYaml(document, ['header']);
    const v = validateWorkflowText(yaml);
    assert.equal(v.valid, true, JSON.stringify(v.errors));
    const agent = v.document!.agents.clf!;
    assert.deepEqual(agent.requires, { gpu: { vendor: 'NVIDIA' } });
    const steps = v.document!.workflows.triage!.steps;
    assert.deepEqual(steps[2]!.requires, { region: 'eu-west', labels: { tier: 'x' } });
    assert.ok(yaml.startsWith('# header\n'));
  });

  test('args that are not a JSON object are reported with their path', () => {
    const { problems } = draftToDocument({
      name: 'x', description: '', agents: [], tools: [],
      steps: [step({ id: 'a', tool: 'echo', args_json: '[1,2]' }), step({ id: 'b', tool: 'echo', args_json: '{oops' })],
    });
    assert.deepEqual(problems.map((p) => p.path), ['steps[0].args_json', 'steps[1].args_json']);
  });
});

describe('the prompt', () => {
  test('carries the mesh: tools with their arguments, models, GPUs, regions', () => {
    const p = buildSystemPrompt(threeNodeMesh(), 'complex');
    for (const fact of ['node "gpu-1"', 'NVIDIA H100', 'gpt-4o-mini', 'eu-west', 'list_dir {path}', 'request {url', '5 to 12 steps']) assert.ok(p.includes(fact), fact);
    assert.doesNotMatch(p, /- shell:/);
  });

  test('says plainly when there is no model and no GPU', () => {
    const p = buildSystemPrompt(defaultCapabilities(), 'simple');
    assert.match(p, /No node offers any model: write NO agents/);
    assert.match(p, /No node has a GPU/);
  });

  test('a repair message lists every problem and the YAML they point into', () => {
    const m = repairPrompt(['line 3 a: bad', 'line 9 b: worse'], 'agents: []');
    assert.match(m, /- line 3 a: bad\n- line 9 b: worse/);
    assert.match(m, /agents: \[\]/);
  });
});
