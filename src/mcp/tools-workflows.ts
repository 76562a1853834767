import { generateWorkflow } from '../generate/index.js';
import type { GenerateContext, GeneratedWorkflow, GenerateRequest } from '../generate/types.js';
import type { ExecutionService } from '../executions/index.js';
import type { MeshNode } from '../node/mesh-node.js';
import { formatIssue, validateWorkflowFiles, validateWorkflowText, type ValidateOptions } from '../workflow/index.js';
import { inputs, outputs, toNodeView } from './schemas.js';
import { defineTool, type ToolContext, type ToolSpec } from './tool-kit.js';
import { runForTool } from './tools-executions.js';

/** The generator's view of the mesh (live peers) and this node's LLM settings. */
export function generationContext(node: MeshNode, signal: AbortSignal): GenerateContext {
  const capabilities = {
    nodes: node.registry.list().map((p) => ({
      name: p.name,
      region: p.region,
      labels: p.labels,
      tools: p.tools,
      models: p.models,
      gpus: p.gpus.map((g) => ({ vendor: g.vendor, model: g.model, vram_mib: g.vram_mib })),
    })),
  };
  const { llm } = node.options;
  const model = llm.models[0];
  // No model configured: the template generator writes the workflow.
  if (!model) return { capabilities, signal };
  return {
    capabilities,
    signal,
    llm: { model, timeout_ms: llm.timeout_ms, ...(llm.base_url && { base_url: llm.base_url }), ...(llm.api_key && { api_key: llm.api_key }) },
  };
}

function generated(g: GeneratedWorkflow) {
  return { name: g.name, yaml: g.yaml, validation: g.validation, generator: g.generator };
}

async function generate(node: MeshNode, req: GenerateRequest, ctx: ToolContext): Promise<GeneratedWorkflow> {
  ctx.progress({ progress: 0, message: 'generating the workflow' });
  return generateWorkflow(req, generationContext(node, ctx.signal));
}

/** `yaml`, or `files` (a LangSwarm config folder: file name → YAML) merged into one document. */
function validateSource(src: { yaml?: string | undefined; files?: Record<string, string> | undefined }, opts: ValidateOptions): ReturnType<typeof validateWorkflowText> & { merged?: string } {
  return src.files ? validateWorkflowFiles(src.files, opts) : validateWorkflowText(src.yaml ?? '', opts);
}

export function workflowTools(node: MeshNode, executions: ExecutionService, maxInputBytes: number): ToolSpec[] {
  const validateOptions = { allowedEnv: node.options.allow.env_vars };
  return [
    defineTool({
      name: 'generate_workflow',
      title: 'Generate a workflow',
      description:
        'Writes a workflow (LangSwarm-compatible YAML) from a description, for the tools, models, GPUs and regions the live mesh offers, and validates it. ' +
        'Uses the node\'s LLM when one is configured, else a template generator.',
      input: inputs.generate,
      output: outputs.generate,
      annotations: { readOnlyHint: true, openWorldHint: true },
      run: async (args, ctx) => ({ ok: true, value: generated(await generate(node, args, ctx)) }),
    }),
    defineTool({
      name: 'validate_workflow',
      title: 'Validate a workflow',
      description: 'Checks workflow YAML and reports every problem at once, each with its YAML path and line.',
      input: inputs.validate(maxInputBytes),
      output: outputs.validate,
      annotations: { readOnlyHint: true },
      run: async (args) => {
        const { valid, errors, warnings } = validateSource(args, { ...validateOptions, strict: args.strict === true });
        return { ok: true, value: { valid, errors, warnings } };
      },
    }),
    defineTool({
      name: 'execute_generated_workflow',
      title: 'Generate and execute a workflow',
      description: 'Generates a workflow from a description (as generate_workflow) and, when it is valid, executes it (as execute_workflow).',
      input: inputs.executeGenerated,
      output: outputs.executeGenerated,
      annotations: { openWorldHint: true },
      run: async ({ description, complexity, ...run }, ctx) => {
        const g = generated(await generate(node, { description, ...(complexity && { complexity }) }, ctx));
        if (!g.validation.valid) {
          return { ok: false, message: `the generated workflow is invalid:\n${g.validation.errors.map(formatIssue).join('\n')}`, value: g };
        }
        // Generating counts as the first step: the execution's own progress follows it, from 1.
        ctx.progress({ progress: 1, message: `generated workflow "${g.name}" (${g.generator}); starting it` });
        const outcome = await runForTool(executions, { ...run, yaml: g.yaml }, ctx, 1);
        const value = { ...g, ...outcome.value };
        return outcome.ok ? { ok: true, value } : { ok: false, message: outcome.message, value };
      },
    }),
    defineTool({
      name: 'save_workflow',
      title: 'Save a workflow',
      description: 'Saves a valid workflow in the mesh under a name (replacing one of the same name): execute_workflow runs it by workflow_name from any node.',
      input: inputs.save(maxInputBytes),
      output: outputs.save,
      annotations: { idempotentHint: true },
      run: async ({ name, description, ...source }, ctx) => {
        const v = validateSource(source, validateOptions);
        const yaml = source.files ? v.merged : source.yaml;
        if (!v.valid || !v.document || yaml === undefined) return { ok: false, message: `not saved: the workflow is invalid:\n${v.errors.map(formatIssue).join('\n')}` };
        const saved = await executions.workflows.save({
          name,
          yaml,
          ...(description !== undefined && { description }),
          workflows: Object.keys(v.document.workflows),
          saved_by: ctx.requestedBy,
          node: node.name,
        });
        return { ok: true, value: { name: saved.name, workflows: saved.workflows, bytes: saved.bytes, saved_at: saved.saved_at, node: saved.node } };
      },
    }),
    defineTool({
      name: 'list_workflows',
      title: 'List saved workflows',
      description: 'Workflows saved in the mesh (name, description, workflow ids, size, who saved them and when).',
      input: inputs.none,
      output: outputs.listWorkflows,
      annotations: { readOnlyHint: true },
      run: async () => ({ ok: true, value: { workflows: await executions.workflows.list() } }),
    }),
    defineTool({
      name: 'mesh_status',
      title: 'Mesh status',
      description: 'The live nodes as this node sees them (hardware, tools, models, last known load, MCP URL), sorted by name, filtered by region and labels, a page at a time; and the NATS servers.',
      input: inputs.meshStatus,
      output: outputs.meshStatus,
      annotations: { readOnlyHint: true },
      run: async (args) => {
        const page = node.registry.page({ limit: args.limit ?? 200, cursor: args.cursor, region: args.region, labels: args.labels });
        const info = node.nc.info;
        const servers = new Set(node.options.nats.servers);
        for (const url of info?.connect_urls ?? []) servers.add(`nats://${url}`);
        return {
          ok: true,
          value: {
            node: node.name,
            nodes: page.nodes.map(toNodeView),
            total: page.total,
            ...(page.next_cursor !== undefined && { next_cursor: page.next_cursor }),
            nats: {
              servers: [...servers],
              ...(info?.cluster && { cluster: info.cluster }),
              ...(info?.server_name && { server_name: info.server_name }),
              ...(info?.version && { version: info.version }),
              jetstream: info?.jetstream ?? false,
            },
          },
        };
      },
    }),
  ];
}
