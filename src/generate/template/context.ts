/**
 * What every template stage shares: the builder, the resolved environment, the intent, and the
 * two things they all do the same way: decide where a step may be placed, and write agent steps.
 */
import type { Requires } from '../../protocol/step.js';
import type { PlacementNeed } from '../../mesh/placement.js';
import { canPlace } from '../placeable.js';
import type { StepObj, StepOptions, WorkflowBuilder } from './builder.js';
import type { TemplateEnv } from './env.js';
import type { Intent } from './intent.js';

export interface TemplateCtx {
  b: WorkflowBuilder;
  env: TemplateEnv;
  intent: Intent;
  description: string;
}

/** Text from the description, made literal where `${...}` would be read as a variable. */
export function literal(text: string): string {
  return text.replace(/\$\{/g, () => '$${');
}

export function note(ctx: TemplateCtx, text: string): void {
  if (!ctx.env.notes.includes(text)) ctx.env.notes.push(text);
}

/**
 * The `requires` of a step: the region pin (and a GPU, when asked) if some node can honour it.
 * Residency wins over the GPU: a pinned step that no GPU node in the region can run keeps its
 * region and loses the GPU; a step no node in the region can run at all stays unpinned, said so.
 */
export function placement(ctx: TemplateCtx, need: PlacementNeed, gpu?: Requires): Requires | undefined {
  const regions = ctx.env.regions;
  const region: Requires | undefined = regions ? { region: regions.length === 1 ? regions[0]! : regions } : undefined;
  const tries: Requires[] = [
    { ...gpu, ...region },
    ...(gpu && region ? [region, gpu] : []),
  ].filter((r) => Object.keys(r).length > 0);
  const what = need.model ? `model ${need.model}` : `tool ${need.tool_type}`;
  for (const [i, r] of tries.entries()) {
    if (!canPlace(ctx.env.caps, { ...need, requires: r })) continue;
    if (i > 0) note(ctx, `no single node offers ${what} with both ${JSON.stringify(tries[0])}: the step keeps only ${JSON.stringify(r)}`);
    return r;
  }
  if (tries.length > 0) note(ctx, `no node meets ${JSON.stringify(tries[0])} for ${what}: that step is NOT pinned`);
  return undefined;
}

/** Options of a tool step of `type`, placed. */
export function toolOpts(ctx: TemplateCtx, type: string, opts: StepOptions = {}): StepOptions {
  const requires = placement(ctx, { tool_type: type });
  return { ...opts, ...(requires && { requires }) };
}

const ROLE_PROMPTS: Record<string, string> = {
  review: 'You are a careful reviewer. Point out bugs, risks and unclear parts, most important first, with concrete fixes.',
  summarize: 'You write short, faithful summaries: the key points first, nothing invented.',
  translate: 'You translate faithfully, keeping meaning, tone and formatting.',
  classify: 'You classify the input. Answer with the category only.',
  analyze: 'You analyze the input and report findings with evidence.',
  extract: 'You extract the requested facts exactly as they appear, as a list.',
};

/** The system prompt of an agent doing `task` for this job. */
export function agentPrompt(ctx: TemplateCtx, task: string): string {
  const base = ROLE_PROMPTS[task] ?? `You ${task} the input you are given.`;
  return `${base} The overall job: "${ctx.description.trim()}".`;
}

/**
 * An agent step doing `task` over `data` (a `${...}` text), on a GPU when `heavy` and the mesh has
 * a GPU node serving a model. Only called when a model is offered: tool-only templates build
 * their own transform steps. Returns the step object (not added: loop bodies hold their own).
 */
export function makeAgentStep(
  ctx: TemplateCtx,
  base: string,
  task: string,
  instruction: string,
  data: string,
  opts: StepOptions & { heavy?: boolean } = {},
): StepObj {
  const { heavy, ...stepOpts } = opts;
  const { env, b } = ctx;
  if (!env.model) throw new Error('template: an agent step on a mesh without models');
  const gpu = heavy ? env.gpu : undefined;
  const model = gpu ? gpu.model : env.model;
  const requires = placement(ctx, { model }, gpu?.requires);
  const agent = b.agent(`${task}_agent`, model, agentPrompt(ctx, task));
  return b.make(base, { agent, input: `${literal(instruction)}\n\n${data}` }, {
    ...stepOpts,
    ...(requires && { requires }),
    ...(env.complexity === 'complex' && { retry: 2, timeout: '120s' }),
  });
}

/** `makeAgentStep`, added to the top-level list; returns the step id. */
export function agentStep(...args: Parameters<typeof makeAgentStep>): string {
  return args[0].b.add(makeAgentStep(...args));
}
