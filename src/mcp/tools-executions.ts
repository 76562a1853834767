import type { ExecutionService, StartExecutionRequest } from '../executions/index.js';
import type { ExecutionRecord } from '../protocol/execution.js';
import { MeshError } from '../protocol/errors.js';
import { asRecordView, inputs, outputs, toResult, toRow, type ExecutionResult } from './schemas.js';
import { defineTool, type ToolContext, type ToolOutcome, type ToolSpec } from './tool-kit.js';
import { formatIssue, mergeWorkflowFiles } from '../workflow/index.js';

/**
 * Runs one execution for a tool call, with progress and client cancellation wired in. `stepsBefore`
 * counts work the tool did first (generating the workflow) as steps, so progress keeps growing.
 */
export async function runForTool(executions: ExecutionService, req: StartExecutionRequest, ctx: ToolContext, stepsBefore = 0): Promise<ToolOutcome<ExecutionResult>> {
  const record = await executions.start({
    ...req,
    requested_by: ctx.requestedBy,
    signal: ctx.signal,
    onProgress: (p) =>
      ctx.progress({ progress: p.progress + stepsBefore, ...(p.total !== undefined && { total: p.total + stepsBefore }), ...(p.message !== undefined && { message: p.message }) }),
  });
  return outcomeOf(record);
}

/** A failed or cancelled execution is an `isError` result that names the failing step and why. */
export function outcomeOf(record: ExecutionRecord): ToolOutcome<ExecutionResult> {
  const value = toResult(record);
  const json = JSON.stringify(value, null, 2);
  if (record.status === 'failed' || record.status === 'cancelled') {
    const e = record.error;
    const where = e?.step ? `step "${e.step}"` : 'the execution';
    const message = `execution ${record.execution_id} ${record.status}: ${where} ${record.status === 'failed' ? 'failed' : 'was cancelled'}${e ? ` (${e.type}): ${e.message}` : ''}\n${json}`;
    return { ok: false, message, value };
  }
  return { ok: true, value, text: json };
}

export function executionTools(executions: ExecutionService, maxInputBytes: number): ToolSpec[] {
  return [
    defineTool({
      name: 'execute_workflow',
      title: 'Execute a workflow',
      description:
        'Runs a workflow (YAML, or the name of a saved workflow) on the mesh and returns its execution: status, output and every step with the node that ran it. ' +
        'mode: distributed (default), sync, async (returns the execution_id at once) or isolated. Sends progress notifications when asked; cancelling the request cancels the execution.',
      input: inputs.execute(maxInputBytes),
      output: outputs.execute,
      annotations: { destructiveHint: false, openWorldHint: true },
      run: async ({ files, ...args }, ctx) => {
        if (!files) return runForTool(executions, args, ctx);
        // A LangSwarm config folder: merged here into one document, which the node validates.
        const m = mergeWorkflowFiles(files);
        if (!m.ok) return { ok: false, message: `invalid workflow files:\n${m.errors.map(formatIssue).join('\n')}` };
        return runForTool(executions, { ...args, yaml: m.yaml }, ctx);
      },
    }),
    defineTool({
      name: 'get_execution',
      title: 'Get an execution',
      description: 'The full record of one execution (input, output, per-step node, attempts, timings, outputs and errors), from any node of the mesh.',
      input: inputs.executionId,
      output: outputs.record,
      annotations: { readOnlyHint: true },
      run: async ({ execution_id }) => {
        const record = await executions.get(execution_id);
        if (!record) return { ok: false, message: `no execution ${execution_id} in the mesh (records expire after the store's TTL)` };
        return { ok: true, value: asRecordView(record) };
      },
    }),
    defineTool({
      name: 'list_executions',
      title: 'List executions',
      description: 'Executions in the mesh, newest first, optionally only those with one status. Pass next_cursor back as cursor for the next page.',
      input: inputs.list,
      output: outputs.list,
      annotations: { readOnlyHint: true },
      run: async (args) => {
        const page = await executions.list(args);
        return { ok: true, value: { executions: page.executions.map(toRow), ...(page.next_cursor && { next_cursor: page.next_cursor }) } };
      },
    }),
    defineTool({
      name: 'cancel_execution',
      title: 'Cancel an execution',
      description: 'Cancels a running execution wherever it runs (its in-flight steps stop on every node) and returns the status it ended in.',
      input: inputs.executionId,
      output: outputs.cancel,
      annotations: { destructiveHint: true, idempotentHint: true },
      run: async ({ execution_id }) => {
        try {
          return { ok: true, value: await executions.cancel(execution_id, 'cancelled through MCP cancel_execution') };
        } catch (err) {
          if (err instanceof MeshError && err.code === 'EXECUTION_NOT_FOUND') return { ok: false, message: err.message };
          throw err;
        }
      },
    }),
  ];
}
