/**
 * The shape the LLM answers in (structured output). It mirrors the workflow format closely, so a
 * validation error on the rendered YAML points at something the model wrote, but it stays inside
 * what strict JSON-schema mode accepts: every field present (null when unused), no free-form
 * objects (tool args and settings travel as JSON text), no recursion (a loop body holds plain steps),
 * no number bounds and at most five levels of objects, which strict servers refuse.
 */
import { z } from 'zod';

const RequiresDraftSchema = z.object({
  gpu: z.boolean().nullable().describe('true when the step needs a GPU'),
  gpu_min_vram_mib: z.number().nullable(),
  gpu_vendor: z.string().nullable(),
  region: z.array(z.string()).nullable().describe('allowed regions, only ones the mesh has'),
  labels: z.array(z.string()).nullable().describe('node labels as "key=value"'),
});
export type RequiresDraft = z.infer<typeof RequiresDraftSchema>;

const ConditionDraftSchema = z.object({
  if: z.string().describe('a condition expression, e.g. ${classify.output} == "urgent"'),
  then: z.string().describe('step id to run when true'),
  else: z.string().nullable().describe('step id to run otherwise'),
});

const stepFields = {
  id: z.string().describe('unique step id, snake_case'),
  description: z.string().nullable(),
  agent: z.string().nullable().describe('agent id (agent step) or null'),
  input: z.string().nullable().describe('agent input text with ${...} variables, for agent steps'),
  tool: z.string().nullable().describe('tool id (tool step) or null'),
  method: z.string().nullable(),
  args_json: z.string().nullable().describe('tool arguments as a JSON object text, e.g. {"path": "src"}'),
  depends_on: z.array(z.string()).nullable(),
  output_to: z.array(z.string()).nullable().describe('next step ids, or ["user"] for the final answer'),
  condition: ConditionDraftSchema.nullable().describe('conditional routing after this step'),
  requires: RequiresDraftSchema.nullable(),
};

const LeafStepDraftSchema = z.object(stepFields);
export type LeafStepDraft = z.infer<typeof LeafStepDraftSchema>;

const StepDraftSchema = z.object({
  ...stepFields,
  loop: z
    .object({
      for_each: z.string().describe('a variable that resolves to a list, e.g. ${list_files.output}'),
      var: z.string(),
      max: z.number().describe('most items the loop accepts'),
      body: z.array(LeafStepDraftSchema),
    })
    .nullable(),
});
export type StepDraft = z.infer<typeof StepDraftSchema>;

export const WorkflowDraftSchema = z.object({
  name: z.string().describe('workflow name, kebab-case'),
  description: z.string(),
  agents: z.array(
    z.object({
      id: z.string(),
      model: z.string().describe('a model some node offers'),
      system_prompt: z.string(),
      temperature: z.number().nullable(),
      requires: RequiresDraftSchema.nullable(),
    }),
  ),
  tools: z.array(
    z.object({
      id: z.string(),
      type: z.string().describe('a tool type some node offers'),
      settings_json: z.string().nullable().describe('tool settings as JSON object text, or null'),
    }),
  ),
  steps: z.array(StepDraftSchema),
});
export type WorkflowDraft = z.infer<typeof WorkflowDraftSchema>;

type Obj = Record<string, unknown>;

/** A problem found while turning the draft into a document (bad JSON text in args, say). */
export interface DraftProblem {
  path: string;
  message: string;
}

function parseJsonObject(text: string | null, path: string, problems: DraftProblem[]): Obj | undefined {
  if (text === null || text.trim() === '') return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Obj;
    problems.push({ path, message: 'must be the text of a JSON object' });
  } catch (err) {
    problems.push({ path, message: `is not valid JSON: ${(err as Error).message}` });
  }
  return undefined;
}

function requiresOf(r: RequiresDraft | null): Obj | undefined {
  if (!r) return undefined;
  const out: Obj = {};
  if (r.gpu || r.gpu_min_vram_mib || r.gpu_vendor) {
    const gpu: Obj = {};
    if (r.gpu_min_vram_mib) gpu.min_vram_mib = r.gpu_min_vram_mib;
    if (r.gpu_vendor) gpu.vendor = r.gpu_vendor;
    out.gpu = Object.keys(gpu).length > 0 ? gpu : true;
  }
  if (r.region && r.region.length > 0) out.region = r.region.length === 1 ? r.region[0] : r.region;
  if (r.labels && r.labels.length > 0) {
    out.labels = Object.fromEntries(r.labels.map((l) => [l.slice(0, Math.max(0, l.indexOf('='))) || l, l.includes('=') ? l.slice(l.indexOf('=') + 1) : '']));
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function stepOf(s: LeafStepDraft & { loop?: StepDraft['loop'] }, path: string, problems: DraftProblem[]): Obj {
  const step: Obj = { id: s.id };
  if (s.description) step.description = s.description;
  if (s.agent) {
    step.agent = s.agent;
    step.input = s.input ?? '${user_input}';
  }
  if (s.tool) {
    step.tool = s.tool;
    if (s.method) step.method = s.method;
    step.args = parseJsonObject(s.args_json, `${path}.args_json`, problems) ?? {};
  }
  if (s.loop) {
    step.loop = {
      for_each: s.loop.for_each,
      var: s.loop.var,
      max: s.loop.max,
      body: s.loop.body.map((b, i) => stepOf(b, `${path}.loop.body[${i}]`, problems)),
    };
  }
  if (s.depends_on && s.depends_on.length > 0) step.depends_on = s.depends_on;
  if (s.condition) {
    const c: Obj = { if: s.condition.if, then: s.condition.then };
    if (s.condition.else) c.else = s.condition.else;
    step.output = { to: { condition: c } };
  } else if (s.output_to && s.output_to.length > 0) {
    step.output = { to: s.output_to.length === 1 ? s.output_to[0] : s.output_to };
  }
  const requires = requiresOf(s.requires);
  if (requires) step.requires = requires;
  return step;
}

/** Turns the model's draft into a workflow document (the LangSwarm YAML layout). */
export function draftToDocument(draft: WorkflowDraft): { document: Obj; problems: DraftProblem[] } {
  const problems: DraftProblem[] = [];
  const agents = draft.agents.map((a) => {
    const agent: Obj = { id: a.id, model: a.model, system_prompt: a.system_prompt };
    if (a.temperature !== null) agent.temperature = a.temperature;
    const requires = requiresOf(a.requires);
    if (requires) agent.requires = requires;
    return agent;
  });
  const tools = draft.tools.map((t, i) => {
    const tool: Obj = { id: t.id, type: t.type };
    const settings = parseJsonObject(t.settings_json, `tools[${i}].settings_json`, problems);
    if (settings) tool.settings = settings;
    return tool;
  });
  const steps = draft.steps.map((s, i) => stepOf(s, `steps[${i}]`, problems));
  const document: Obj = {};
  if (agents.length > 0) document.agents = agents;
  if (tools.length > 0) document.tools = tools;
  document.workflows = { [draft.name]: { description: draft.description, steps } };
  return { document, problems };
}
