/**
 * Arguments and results of the MCP tools (DESIGN.md section 4), as zod schemas: the SDK turns
 * them into the JSON Schemas clients see, and the same schemas check every call and result.
 */
import { z } from 'zod';
import { AdvertisementSchema } from '../protocol/advert.js';
import {
  ExecutionModeSchema,
  ExecutionRecordSchema,
  FINAL_STEP_STATUSES,
  HandoverSchema,
  ExecutionStatusSchema,
  StepRecordSchema,
  type ExecutionRecord,
} from '../protocol/execution.js';
import { WorkflowNameSchema } from '../store/index.js';

const ExecutionIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'an execution id as execute_workflow returned it (letters, digits, "_" and "-")');
const WorkflowIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'a workflow id of the document (letters, digits, "_" and "-")');
const ComplexitySchema = z.enum(['simple', 'medium', 'complex']);
const DescriptionSchema = z.string().trim().min(1, 'describe the job in a few words').max(10_000, 'at most 10000 characters');

/**
 * Any JSON value, with explicit types (strict clients warn on an untyped `{}`): a workflow's
 * input, a step's or an execution's output.
 */
const JsonSchema = z.json();
/** Records hold JSON only: they travel as JSON through NATS and JetStream KV. */
type Json = z.infer<typeof JsonSchema>;

/** The record typed as `get_execution` shows it (the same object). */
export const asRecordView = (r: ExecutionRecord): z.infer<typeof RecordSchema> => r as z.infer<typeof RecordSchema>;

export const IssueSchema = z.object({ file: z.string().optional(), path: z.string(), line: z.number().int().optional(), message: z.string() });
export const ValidationSchema = z.object({ valid: z.boolean(), errors: z.array(IssueSchema), warnings: z.array(IssueSchema) });

/** The `yaml` argument, capped at the node's input limit (bytes are checked again when running). */
export const yamlArg = (maxBytes: number) =>
  z.string().max(maxBytes, `the YAML is larger than this node takes: at most ${maxBytes} bytes (limits.max_input_bytes)`);

/** `files`: a LangSwarm config folder as file name → YAML text (agents.yaml, workflows.yaml, ...). */
export const filesArg = (maxBytes: number) =>
  z
    .record(z.string().regex(/^[A-Za-z0-9_.-]{1,100}\.ya?ml$/, 'a file name such as workflows.yaml'), z.string())
    .refine((f) => Object.keys(f).length >= 1 && Object.keys(f).length <= 64, 'files holds 1 to 64 files')
    .refine((f) => Object.values(f).reduce((n, t) => n + Buffer.byteLength(t), 0) <= maxBytes, `the files are larger than this node takes: at most ${maxBytes} bytes together (limits.max_input_bytes)`)
    .describe('A LangSwarm config folder instead of yaml: file name → YAML text (agents.yaml, tools.yaml, workflows.yaml, ...), merged as LangSwarm merges them');
const oneSource = (v: { yaml?: unknown; files?: unknown }): boolean => v.yaml === undefined || v.files === undefined;

export const inputs = {
  generate: z
    .object({
      description: DescriptionSchema.describe('What the workflow should do'),
      complexity: ComplexitySchema.optional(),
      name: WorkflowNameSchema.optional(),
      agents: z.array(z.string().min(1).max(200)).max(50).optional().describe('Agent ids or models to use (hints)'),
      tools: z.array(z.string().min(1).max(200)).max(50).optional().describe('Tool types to use (hints)'),
    })
    .strict(),
  validate: (maxBytes: number) =>
    z
      .object({
        yaml: yamlArg(maxBytes).optional().describe('Workflow YAML (LangSwarm-compatible)'),
        files: filesArg(maxBytes).optional(),
        strict: z.boolean().optional().describe('Steps that cannot run as written (unknown agent, route to no step) are errors, not warnings'),
      })
      .strict()
      .refine((v) => (v.yaml === undefined) !== (v.files === undefined), 'give yaml or files'),
  execute: (maxBytes: number) =>
    z
      .object({
        yaml: yamlArg(maxBytes).optional().describe('Workflow YAML; or give workflow_name'),
        files: filesArg(maxBytes).optional(),
        workflow_name: WorkflowNameSchema.optional().describe('A workflow saved with save_workflow'),
        workflow: WorkflowIdSchema.optional().describe('Which workflow of the document to run (default: its first)'),
        input: JsonSchema.optional().describe('The workflow input, ${user_input}: a string or any JSON value'),
        mode: ExecutionModeSchema.optional().describe('distributed (default): each step on the best peer; sync: on this node; async: return at once; isolated: each step in a fresh process'),
        timeout_s: z.number().positive().max(7 * 86_400).optional().describe('Deadline of the whole execution, in seconds'),
        wait: z.boolean().optional().describe('Wait for the result (default true; async mode never waits)'),
      })
      .strict()
      .refine(oneSource, 'give yaml or files, not both'),
  executeGenerated: z
    .object({
      description: DescriptionSchema.describe('What the workflow should do'),
      input: JsonSchema.optional().describe('The workflow input, ${user_input}: a string or any JSON value'),
      complexity: ComplexitySchema.optional(),
      mode: ExecutionModeSchema.optional(),
      timeout_s: z.number().positive().max(7 * 86_400).optional(),
      wait: z.boolean().optional(),
    })
    .strict(),
  executionId: z.object({ execution_id: ExecutionIdSchema }).strict(),
  list: z
    .object({
      status: ExecutionStatusSchema.optional(),
      limit: z.number().int().min(1).max(500).optional().describe('Page size (default 50)'),
      cursor: z.string().min(1).max(1_000).optional().describe('next_cursor of the previous page'),
    })
    .strict(),
  save: (maxBytes: number) =>
    z
      .object({
        name: WorkflowNameSchema,
        yaml: yamlArg(maxBytes).optional(),
        files: filesArg(maxBytes).optional(),
        description: z.string().max(2_000).optional(),
      })
      .strict()
      .refine((v) => (v.yaml === undefined) !== (v.files === undefined), 'give yaml or files'),
  none: z.object({}).strict(),
  meshStatus: z
    .object({
      region: z.string().max(256).optional().describe('Only nodes of this region (`eu-*` for a prefix)'),
      labels: z.record(z.string(), z.string()).optional().describe('Only nodes with every one of these labels'),
      limit: z.number().int().min(1).max(1_000).optional().describe('Nodes per page (default 200)'),
      cursor: z.string().max(512).optional().describe('next_cursor of the previous page'),
    })
    .strict(),
};

/** A step row as MCP results show it: the record's row without its output. */
export const StepSummarySchema = StepRecordSchema.omit({ output: true });

/** The execution record as `get_execution` returns it: the protocol's, with typed JSON values. */
const RecordSchema = ExecutionRecordSchema.extend({
  input: JsonSchema.optional(),
  output: JsonSchema.optional(),
  steps: z.array(StepRecordSchema.extend({ output: JsonSchema.optional() })),
});

/** A node as `mesh_status` shows it: its advertisement, without the URLs it does not serve (no nulls). */
const NodeViewSchema = AdvertisementSchema.extend({
  mcp_url: z.string().optional().describe('Absent when the node serves no MCP over HTTP'),
  http_url: z.string().optional().describe('Absent when the node has no HTTP port'),
});
export type NodeView = z.infer<typeof NodeViewSchema>;

export function toNodeView(ad: z.infer<typeof AdvertisementSchema>): NodeView {
  const { mcp_url, http_url, ...rest } = ad;
  return { ...rest, ...(mcp_url !== null && { mcp_url }), ...(http_url !== null && { http_url }) };
}

const executionFields = {
  execution_id: z.string(),
  workflow: z.string(),
  mode: ExecutionModeSchema,
  status: ExecutionStatusSchema,
  output: JsonSchema.optional(),
  error: z.object({ step: z.string().optional(), type: z.string(), message: z.string() }).optional(),
  steps: z.array(StepSummarySchema),
  coordinator: z.string(),
  epoch: z.number().int().nonnegative().optional().describe('Lease epoch: 1 for the first coordinator, +1 per takeover'),
  handovers: z.array(HandoverSchema).optional().describe('Every change of coordinator (node lost, node stopping)'),
  requested_by: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  ended_at: z.string().optional(),
};

/** What `execute_workflow` returns: the record without the input and per-step outputs. */
export const ExecutionResultSchema = z.object(executionFields);
export type ExecutionResult = z.infer<typeof ExecutionResultSchema>;

export const GeneratedSchema = z.object({
  name: z.string(),
  yaml: z.string(),
  validation: ValidationSchema,
  generator: z.enum(['llm', 'template']),
});

/** `execute_generated_workflow`: the generated workflow, and its execution when it was valid. */
export const GeneratedExecutionSchema = GeneratedSchema.extend(ExecutionResultSchema.partial().shape);

export const ExecutionRowSchema = z.object({
  execution_id: z.string(),
  workflow: z.string(),
  mode: ExecutionModeSchema,
  status: ExecutionStatusSchema,
  coordinator: z.string(),
  requested_by: z.string().optional(),
  steps_done: z.number().int().nonnegative(),
  steps_total: z.number().int().nonnegative(),
  error: executionFields.error,
  created_at: z.string(),
  updated_at: z.string(),
  ended_at: z.string().optional(),
});

export const outputs = {
  generate: GeneratedSchema,
  validate: ValidationSchema,
  execute: ExecutionResultSchema,
  executeGenerated: GeneratedExecutionSchema,
  record: RecordSchema,
  list: z.object({ executions: z.array(ExecutionRowSchema), next_cursor: z.string().optional() }),
  cancel: z.object({ execution_id: z.string(), status: ExecutionStatusSchema }),
  save: z.object({ name: z.string(), workflows: z.array(z.string()), bytes: z.number().int(), saved_at: z.string(), node: z.string() }),
  listWorkflows: z.object({
    workflows: z.array(
      z.object({
        name: z.string(),
        description: z.string().optional(),
        workflows: z.array(z.string()),
        bytes: z.number().int(),
        saved_at: z.string(),
        saved_by: z.string().optional(),
        node: z.string(),
      }),
    ),
  }),
  meshStatus: z.object({
    node: z.string().describe('The node that answered'),
    nodes: z.array(NodeViewSchema),
    total: z.number().int().nonnegative().describe('Nodes that match the filter, on every page'),
    next_cursor: z.string().optional().describe('Pass it as cursor for the next page; absent on the last page'),
    nats: z.object({
      servers: z.array(z.string()),
      cluster: z.string().optional(),
      server_name: z.string().optional(),
      version: z.string().optional(),
      jetstream: z.boolean(),
    }),
  }),
};


export function toResult(r: ExecutionRecord): ExecutionResult {
  return {
    execution_id: r.execution_id,
    workflow: r.workflow,
    mode: r.mode,
    status: r.status,
    ...(r.output !== undefined && { output: r.output as Json }),
    ...(r.error && { error: r.error }),
    steps: r.steps.map(({ output: _output, ...step }) => step),
    coordinator: r.coordinator,
    ...(r.epoch !== undefined && { epoch: r.epoch }),
    ...(r.handovers?.length && { handovers: r.handovers }),
    ...(r.requested_by !== undefined && { requested_by: r.requested_by }),
    created_at: r.created_at,
    updated_at: r.updated_at,
    ...(r.ended_at !== undefined && { ended_at: r.ended_at }),
  };
}

export function toRow(r: ExecutionRecord): z.infer<typeof ExecutionRowSchema> {
  return {
    execution_id: r.execution_id,
    workflow: r.workflow,
    mode: r.mode,
    status: r.status,
    coordinator: r.coordinator,
    ...(r.requested_by !== undefined && { requested_by: r.requested_by }),
    steps_done: r.steps_done ?? r.steps.filter((s) => FINAL_STEP_STATUSES.has(s.status)).length,
    steps_total: r.steps_total ?? r.steps.length,
    ...(r.error && { error: r.error }),
    created_at: r.created_at,
    updated_at: r.updated_at,
    ...(r.ended_at !== undefined && { ended_at: r.ended_at }),
  };
}
