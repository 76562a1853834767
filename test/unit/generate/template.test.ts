import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkPlaceable,
  defaultCapabilities,
  generateWorkflow,
  type Complexity,
  type GeneratedWorkflow,
  type MeshCapabilities,
} from '../../../src/generate/index.js';
import { allSteps, validateWorkflowText, type Step, type WorkflowDocument } from '../../../src/workflow/index.js';
import { threeNodeMesh, threeNodeMeshWithoutModels } from './meshes.js';

async function gen(description: string, caps: MeshCapabilities, complexity: Complexity = 'medium', extra: { agents?: string[]; tools?: string[] } = {}): Promise<{ r: GeneratedWorkflow; doc: WorkflowDocument; steps: Step[] }> {
  const r = await generateWorkflow({ description, complexity, generator: 'template', ...extra }, { capabilities: caps });
  const v = validateWorkflowText(r.yaml);
  assert.equal(v.valid, true, `${JSON.stringify(v.errors, null, 2)}\n${r.yaml}`);
  const doc = v.document!;
  assert.deepEqual(checkPlaceable(doc, caps), []);
  const wf = Object.values(doc.workflows)[0]!;
  return { r, doc, steps: allSteps(wf.steps) };
}

const toolOf = (doc: WorkflowDocument, s: Step): string | undefined => (s.kind === 'tool' ? (doc.tools[s.tool]?.type ?? s.tool) : undefined);
const calls = (doc: WorkflowDocument, steps: Step[]): string[] =>
  steps.flatMap((s) => (s.kind === 'tool' ? [`${toolOf(doc, s)}.${s.method ?? ''}`] : []));

describe('template library: patterns', () => {
  test('chain: agent steps one after another when a model exists', async () => {
    const { r, doc, steps } = await gen('summarize the meeting notes I paste', threeNodeMesh(), 'complex');
    assert.equal(r.generator, 'template');
    const agents = steps.filter((s) => s.kind === 'agent');
    assert.ok(agents.length >= 3, 'complex chain has three agent stages');
    for (const a of agents) assert.ok(['llama3.1:8b', 'gpt-4o-mini'].includes(doc.agents[(a as { agent: string }).agent]!.model));
    // Each stage depends on the one before it.
    assert.deepEqual(agents[1]!.depends_on, [agents[0]!.id]);
  });

  test('chain without any model: tool steps only, and the YAML says why', async () => {
    const { r, doc, steps } = await gen('summarize the meeting notes I paste', threeNodeMeshWithoutModels(), 'simple');
    assert.equal(Object.keys(doc.agents).length, 0);
    assert.ok(steps.every((s) => s.kind === 'tool'));
    assert.match(r.yaml, /no node offers a model/);
    assert.match(r.yaml, /no model was available/);
  });

  test('fan-out/fan-in: parallel branches, one step waiting for all of them', async () => {
    const { steps } = await gen('review this proposal from several perspectives in parallel and combine the results', threeNodeMesh(), 'medium');
    const merge = steps.find((s) => s.depends_on.length >= 3);
    assert.ok(merge, 'a fan-in step');
    const branches = steps.filter((s) => merge.depends_on.includes(s.id));
    assert.equal(new Set(branches.map((b) => JSON.stringify(b.depends_on))).size, 1, 'branches share their upstream');
  });

  test('fan-out without a model: measurements in parallel, joined', async () => {
    const { steps } = await gen('analyze the text in parallel and combine', threeNodeMeshWithoutModels(), 'complex');
    assert.ok(steps.some((s) => s.depends_on.length >= 3));
  });

  test('conditional routing: decide, then exactly one of two branches', async () => {
    const { steps } = await gen('if the ticket is urgent escalate it, otherwise file it', threeNodeMesh(), 'medium');
    const router = steps.find((s) => s.routes.some((r) => r.kind === 'if'))!;
    const route = router.routes.find((r) => r.kind === 'if')!;
    assert.ok(route.kind === 'if' && route.if.includes('"urgent"'));
    assert.equal(route.kind === 'if' && route.then.length + route.else.length, 2);
  });

  test('conditional without a model routes on the keyword in the input', async () => {
    const { steps } = await gen('if the ticket is urgent escalate it, otherwise file it', threeNodeMeshWithoutModels(), 'simple');
    const route = steps.flatMap((s) => s.routes).find((r) => r.kind === 'if');
    assert.ok(route?.kind === 'if' && /\$\{user_input\} contains "urgent"/.test(route.if));
  });

  test('loop over items: a loop step over the lines of the input, then a join', async () => {
    const { doc, steps } = await gen('for each line of the input, translate it to French', threeNodeMesh(), 'medium');
    const loop = steps.find((s) => s.kind === 'loop');
    assert.ok(loop && loop.kind === 'loop');
    assert.match(String(loop.loop.for_each), /split_items\.output/);
    assert.ok(calls(doc, steps).includes('transform.concat'));
  });

  test('tool pipeline over a folder: list_dir, a loop reading matching files, a report written to disk', async () => {
    const { r, doc, steps } = await gen('review the TypeScript files in src and write a report', defaultCapabilities());
    const c = calls(doc, steps);
    for (const call of ['filesystem.list_dir', 'filesystem.read_file', 'transform.concat', 'filesystem.write_file']) assert.ok(c.includes(call), call);
    const read = steps.find((s) => s.kind === 'tool' && s.method === 'read_file')!;
    assert.match(read.condition ?? '', /contains "\.ts"/);
    assert.match(r.yaml, /path: report\.md/);
  });

  test('tool pipeline over one file and over a URL', async () => {
    const file = await gen('summarize Notes/Todo.md', threeNodeMesh(), 'simple');
    assert.ok(file.steps.some((s) => s.kind === 'tool' && s.method === 'read_file' && (s.args as { path: string }).path === 'Notes/Todo.md'));
    const url = await gen('fetch https://api.example.com/Status and summarize it', threeNodeMesh(), 'simple');
    const fetch = url.steps.find((s) => s.kind === 'tool' && toolOf(url.doc, s) === 'http');
    assert.ok(fetch?.kind === 'tool');
    assert.equal((fetch.args as { url: string }).url, 'https://api.example.com/Status');
    assert.equal(fetch.retry?.count, 2);
  });

  test('GPU inference step: pinned to a GPU when a GPU node serves a model', async () => {
    const { doc, steps } = await gen('run inference on a GPU to classify these support emails', threeNodeMesh(), 'simple');
    const gpuSteps = steps.filter((s) => s.requires?.gpu);
    assert.ok(gpuSteps.length > 0);
    for (const s of gpuSteps) assert.equal(doc.agents[(s as { agent: string }).agent]!.model, 'llama3.1:8b');
  });

  test('GPU asked for, none in the mesh: no GPU requirement and an honest note', async () => {
    const { r, steps } = await gen('run inference on a GPU to classify these emails', defaultCapabilities(), 'simple');
    assert.ok(steps.every((s) => !s.requires?.gpu));
    assert.match(r.yaml, /no node has a GPU/);
  });

  test('region-pinned: EU data stays on EU nodes', async () => {
    const { steps } = await gen('summarize the customer records; GDPR: keep the data in the EU', threeNodeMesh(), 'medium');
    const pinned = steps.filter((s) => s.kind !== 'loop' && s.requires?.region === 'eu-west');
    assert.ok(pinned.length > 0);
    assert.equal(pinned.length, steps.filter((s) => s.kind !== 'loop').length, 'every data step is pinned');
  });

  test('region asked for that the mesh lacks: not pinned, and said so', async () => {
    const { r, steps } = await gen('summarize the records and keep them in Europe', defaultCapabilities(), 'simple');
    assert.ok(steps.every((s) => s.requires?.region === undefined));
    assert.match(r.yaml, /no node is there/);
  });

  test('complex workflows end with a quality gate', async () => {
    const { steps } = await gen('summarize the input', threeNodeMesh(), 'complex');
    assert.ok(steps.some((s) => s.id === 'quality_check'));
    assert.ok(steps.filter((s) => s.routes.some((r) => r.kind === 'goto' && r.targets.includes('user'))).length === 2);
  });

  test('deterministic: the same request gives the same YAML', async () => {
    const a = await gen('review the TypeScript files in src and write a report', threeNodeMesh());
    const b = await gen('review the TypeScript files in src and write a report', threeNodeMesh());
    assert.equal(a.r.yaml, b.r.yaml);
  });

  test('hints: a requested model is used; shell steps are never written, and that is said', async () => {
    const caps = threeNodeMesh();
    const { doc } = await gen('summarize the input', caps, 'simple', { agents: ['gpt-4o-mini'] });
    assert.deepEqual(Object.values(doc.agents).map((a) => a.model), ['gpt-4o-mini']);
    caps.nodes[2]!.tools.push('shell');
    const { r, steps } = await gen('run a shell command to list files', caps, 'simple', { tools: ['shell'] });
    assert.ok(steps.every((s) => s.kind !== 'tool' || s.tool !== 'shell'));
    assert.match(r.yaml, /templates never write shell steps/);
  });

  test('text that looks like a variable stays literal', async () => {
    const { r } = await gen('summarize ${secret.output} and {{x}} for me', threeNodeMeshWithoutModels(), 'complex');
    assert.match(r.yaml, /\$\$\{secret\.output\}/);
  });

  test('a mesh with neither a model nor the transform tool is refused clearly', async () => {
    const caps: MeshCapabilities = { nodes: [{ name: 'a', region: 'r', labels: {}, tools: ['echo'], models: [], gpus: [] }] };
    await assert.rejects(generateWorkflow({ description: 'x', generator: 'template' }, { capabilities: caps }), /no model and no transform tool/);
  });
});
