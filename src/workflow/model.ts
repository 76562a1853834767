/**
 * The normalised workflow model: whatever form the YAML took (LangSwarm V1 lists, the map form,
 * steps without ids, shorthand routes), the parser turns it into this one typed shape.
 * Schemas are the source of truth; types are inferred from them.
 */
import { z } from 'zod';
import { AgentSpecSchema, RequiresSchema } from '../protocol/step.js';

/** Step and workflow ids: safe in record keys, subjects and variable paths. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Names that would reach an object's prototype if used as keys. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);
export function isValidId(s: unknown): s is string {
  return typeof s === 'string' && ID_PATTERN.test(s) && !FORBIDDEN_KEYS.has(s);
}
export const IdSchema = z.string().refine(isValidId, 'letters, digits, _ and - only (at most 128)');

/** A routing target: a step id, or `user` (the step's output is the workflow's output). */
export const USER_TARGET = 'user';
export const TargetListSchema = z.array(z.string());

/** One entry of `output.to`. Conditions are kept as source text and parsed by `parseExpression`. */
export const RouteSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('goto'), targets: TargetListSchema }),
  z.object({ kind: z.literal('if'), if: z.string(), then: TargetListSchema, else: TargetListSchema }),
  z.object({
    kind: z.literal('switch'),
    switch: z.string(),
    cases: z.record(z.string(), TargetListSchema),
    default: TargetListSchema.optional(),
  }),
]);
export type Route = z.infer<typeof RouteSchema>;

export const RetrySchema = z.object({
  /** Retries after the first attempt. */
  count: z.number().int().nonnegative(),
  backoff_ms: z.number().int().nonnegative(),
  max_backoff_ms: z.number().int().nonnegative(),
});
export type Retry = z.infer<typeof RetrySchema>;

const stepBase = {
  id: IdSchema,
  description: z.string().optional(),
  depends_on: z.array(IdSchema),
  /** `output.to`, normalised; empty when the step has no `output`. */
  routes: z.array(RouteSchema),
  retry: RetrySchema.optional(),
  timeout_ms: z.number().int().positive().optional(),
  continue_on_error: z.boolean(),
  requires: RequiresSchema.optional(),
  /** Step-level condition: the step runs only when it holds, else it is skipped. */
  condition: z.string().optional(),
  /** Bound on how often graph cycles may bring the flow back to this step. */
  max_visits: z.number().int().positive().optional(),
  /** Why the step cannot run as written (validation warned): a run that reaches it fails with this. */
  fault: z.string().optional(),
};

export const AgentStepSchema = z.object({
  ...stepBase,
  kind: z.literal('agent'),
  agent: z.string(),
  input: z.unknown(),
});

export const ToolStepSchema = z.object({
  ...stepBase,
  kind: z.literal('tool'),
  tool: z.string(),
  method: z.string().optional(),
  args: z.unknown(),
  /** From LangSwarm `mcp_url: local://NAME`: a tool the mesh offers, which this document need not declare. */
  mesh_tool: z.boolean().optional(),
});

export const InvokeStepSchema = z.object({
  ...stepBase,
  kind: z.literal('invoke_workflow'),
  workflow: z.string(),
  /** Input of the invoked workflow (default: this execution's input). */
  input: z.unknown().optional(),
});

export const LoopSpecSchema = z.object({
  /** A list, or a template that resolves to one; absent for a counted loop. */
  for_each: z.unknown().optional(),
  /** Name of the per-item variable in the body (`${item}`). */
  var: z.string(),
  max: z.number().int().positive().optional(),
  /** LangSwarm V1 loops: a list longer than `max` runs its first `max` items (else it fails the step). */
  truncate_to_max: z.boolean().optional(),
  concurrency: z.number().int().positive(),
  /** Stops a counted loop after the first iteration for which it holds. */
  until: z.string().optional(),
  get body() {
    return z.union([
      z.object({ steps: z.array(StepSchema) }),
      z.object({ workflow: z.string() }),
    ]);
  },
});

export const LoopStepSchema = z.object({
  ...stepBase,
  kind: z.literal('loop'),
  get loop() {
    return LoopSpecSchema;
  },
});

export const StepSchema = z.discriminatedUnion('kind', [
  AgentStepSchema,
  ToolStepSchema,
  InvokeStepSchema,
  LoopStepSchema,
]);

export type AgentStep = z.infer<typeof AgentStepSchema>;
export type ToolStep = z.infer<typeof ToolStepSchema>;
export type InvokeStep = z.infer<typeof InvokeStepSchema>;
export type LoopSpec = z.infer<typeof LoopSpecSchema>;
export type LoopStep = z.infer<typeof LoopStepSchema>;
export type Step = z.infer<typeof StepSchema>;
export type StepKind = Step['kind'];

export const WorkflowSchema = z.object({
  id: IdSchema,
  description: z.string().optional(),
  steps: z.array(StepSchema),
  /**
   * `${NAME.output}` where NAME is an agent or tool used by exactly one step: NAME → that step id
   * (the LangSwarm `${agent.output}` shorthand).
   */
  aliases: z.record(z.string(), z.string()),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

/** One entry of an agent's `tools:`: a document tool or a built-in type, optionally narrowed to some methods. */
export const AgentToolRefSchema = z.object({
  id: z.string(),
  methods: z.array(z.string().min(1)).min(1).optional(),
});
export type AgentToolRef = z.infer<typeof AgentToolRefSchema>;

export const AgentSchema = AgentSpecSchema.extend({
  requires: RequiresSchema.optional(),
  /** Tools the model may call (function calling); resolved into the step's task when it runs. */
  tools: z.array(AgentToolRefSchema).optional(),
});
export type Agent = z.infer<typeof AgentSchema>;

export const ToolSchema = z.object({
  id: IdSchema,
  type: z.string(),
  description: z.string().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  /** Where the tool may run (hard constraints), for every step and agent call that uses it. */
  requires: RequiresSchema.optional(),
});
export type Tool = z.infer<typeof ToolSchema>;

export const WorkflowDocumentSchema = z.object({
  agents: z.record(z.string(), AgentSchema),
  tools: z.record(z.string(), ToolSchema),
  workflows: z.record(z.string(), WorkflowSchema),
  /** The first workflow in the file: what runs when no workflow is named. */
  defaultWorkflow: z.string(),
});
export type WorkflowDocument = z.infer<typeof WorkflowDocumentSchema>;

/** Built-in tool types (DESIGN.md section 5); a tool step may name one directly. */
export const BUILTIN_TOOL_TYPES = ['filesystem', 'http', 'transform', 'shell', 'mcpremote', 'echo', 'sleep'] as const;

/**
 * The methods an agent's model may call, per built-in type (kept equal to the handlers' argument
 * schemas by a test). `mcpremote` has none of its own: its server's tools are the methods.
 */
export const BUILTIN_TOOL_METHODS: Readonly<Record<string, readonly string[]>> = {
  filesystem: ['read_file', 'write_file', 'list_dir'],
  http: ['request'],
  transform: ['pick', 'template', 'json_parse', 'concat', 'split', 'length'],
  shell: ['run'],
  echo: ['echo'],
  sleep: ['sleep'],
};

/** Every target a step may route to (step ids and `user`), over all its routes. */
export function routeTargets(step: Step): string[] {
  const out = new Set<string>();
  for (const r of step.routes) {
    if (r.kind === 'goto') r.targets.forEach((t) => out.add(t));
    else if (r.kind === 'if') [...r.then, ...r.else].forEach((t) => out.add(t));
    else {
      Object.values(r.cases).forEach((ts) => ts.forEach((t) => out.add(t)));
      r.default?.forEach((t) => out.add(t));
    }
  }
  return [...out];
}
