import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { LocalStepRunner, runExecution } from '../../engine/index.js';
import { createStepExecutor } from '../../executor/index.js';
import type { ExecutorEnvironment } from '../../executor/types.js';
import { MeshError } from '../../protocol/errors.js';
import { ExecutionModeSchema, type ExecutionMode, type ExecutionRecord } from '../../protocol/execution.js';
import type { WorkflowDocument } from '../../workflow/index.js';
import { boolFlag, stringFlag, type CliCommand, type CliIo } from '../command.js';
import { allowedEnvFlag, formatFileIssue, validateWorkflowPath } from './validate.js';
import { runOnMesh as meshRun } from '../mesh-run.js';
import { stepTable } from '../step-table.js';

/** What `wfmesh run` asks of a mesh (every mode but sync). */
export interface MeshRunRequest {
  readonly file: string;
  /** The workflow file's text, as read. */
  readonly yaml: string;
  readonly document: WorkflowDocument;
  readonly workflow?: string;
  readonly input: string;
  readonly mode: Exclude<ExecutionMode, 'sync'>;
  /** `--nats URL[,URL]`, when given. */
  readonly nats?: string;
  readonly allowedEnv: readonly string[];
  readonly signal: AbortSignal;
}

/** Every mode but sync: a node of the running mesh coordinates; steps go where they fit. */
export async function runOnMesh(req: MeshRunRequest, io: CliIo): Promise<ExecutionRecord> {
  const record = await meshRun({ yaml: req.yaml, ...(req.workflow && { workflow: req.workflow }), input: req.input, mode: req.mode, ...(req.nats && { nats: req.nats }), signal: req.signal }, io);
  if (record.steps.length > 0) {
    io.err(stepTable(record));
  }
  return record;
}

/** The executor environment of a sync run: this folder, env allow-lists, the OpenAI env vars. */
export function localExecutorEnvironment(allowedEnv: readonly string[], env: NodeJS.ProcessEnv = process.env): ExecutorEnvironment {
  const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    node_name: hostname().split('.')[0] || 'local',
    allow: { filesystem_root: process.cwd(), http_hosts: list(env.WFMESH_HTTP_HOSTS), shell_commands: [], env_vars: [...allowedEnv] },
    llm: {
      ...(env.OPENAI_BASE_URL && { base_url: env.OPENAI_BASE_URL }),
      ...(env.OPENAI_API_KEY && { api_key: env.OPENAI_API_KEY }),
      models: list(env.WFMESH_MODEL),
      timeout_ms: 120_000,
    },
    max_output_bytes: 4 << 20,
  };
}

/** Runs a validated document in this process, every step through the local executor. */
export async function runSync(document: WorkflowDocument, workflow: string | undefined, input: string, allowedEnv: readonly string[], signal: AbortSignal): Promise<ExecutionRecord> {
  const env = localExecutorEnvironment(allowedEnv);
  const runner = new LocalStepRunner(createStepExecutor(env), env.node_name);
  const values = Object.fromEntries(allowedEnv.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k] as string]])));
  return runExecution({ document, ...(workflow && { workflow }), input, runner, mode: 'sync', coordinator: env.node_name, requested_by: 'cli', signal, env: values });
}

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'run a workflow file (--mode sync runs it in this process, no mesh needed)',
  usage: 'FILE|DIR [--workflow ID] [--input TEXT|-] [--mode distributed|sync|async|isolated] [--nats URL] [--allow-env NAME,...] [--json]',
  options: {
    workflow: { type: 'string' },
    input: { type: 'string' },
    mode: { type: 'string' },
    nats: { type: 'string' },
    json: { type: 'boolean' },
    'allow-env': { type: 'string', multiple: true },
  },
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    if (!file || extra.length) throw new MeshError('USAGE', 'name exactly one workflow file or config folder');
    const modeFlag = stringFlag(args, 'mode') ?? 'distributed';
    const mode = ExecutionModeSchema.safeParse(modeFlag);
    if (!mode.success) throw new MeshError('USAGE', `--mode "${modeFlag}": one of ${ExecutionModeSchema.options.join(', ')}`);
    const allowedEnv = allowedEnvFlag(args);
    // A file, or a LangSwarm config folder merged into one document (sent to the mesh as such).
    const workflowFlag = stringFlag(args, 'workflow');
    const v = validateWorkflowPath(file, { allowedEnv, ...(workflowFlag !== undefined && { workflow: workflowFlag }) });
    const yaml = v.yaml ?? '';
    for (const w of v.warnings) io.err(formatFileIssue(file, w, 'warning: '));
    if (!v.valid || !v.document) {
      for (const e of v.errors) io.err(formatFileIssue(file, e));
      return 1;
    }
    const workflow = stringFlag(args, 'workflow');
    if (workflow !== undefined && !Object.hasOwn(v.document.workflows, workflow)) {
      throw new MeshError('USAGE', `--workflow "${workflow}": ${file} has ${Object.keys(v.document.workflows).join(', ')}`);
    }
    const inputFlag = stringFlag(args, 'input') ?? '';
    const input = inputFlag === '-' ? readFileSync(0, 'utf8') : inputFlag;

    const ctl = new AbortController();
    const onSigint = (): void => ctl.abort(new Error('interrupted (Ctrl-C)'));
    process.once('SIGINT', onSigint);
    let record: ExecutionRecord;
    try {
      record =
        mode.data === 'sync'
          ? await runSync(v.document, workflow, input, allowedEnv, ctl.signal)
          : await runOnMesh({ file, yaml, document: v.document, ...(workflow && { workflow }), input, mode: mode.data, ...(stringFlag(args, 'nats') && { nats: stringFlag(args, 'nats') }), allowedEnv, signal: ctl.signal }, io);
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    if (mode.data === 'async' && !boolFlag(args, 'json')) {
      // Async means "give me the id": the execution may even be done already.
      io.out(record.execution_id);
      return 0;
    }
    return printRecord(record, boolFlag(args, 'json'), io);
  },
};

/** Prints the output (or the record with --json); failures go to stderr. Returns the exit code. */
export function printRecord(record: ExecutionRecord, json: boolean, io: CliIo): number {
  if (json) io.out(JSON.stringify(record, null, 2));
  else for (const row of record.steps) for (const w of row.warnings ?? []) io.err(`warning: step ${row.id}: ${w}`);
  if (record.status === 'completed') {
    if (!json) io.out(typeof record.output === 'string' ? record.output : JSON.stringify(record.output ?? null, null, 2));
    return 0;
  }
  if (record.status === 'running' || record.status === 'pending') {
    if (!json) io.out(record.execution_id);
    return 0;
  }
  const e = record.error;
  const what = e?.step ? `step ${e.step} failed (${e.type}): ${e.message}` : `${e?.type ?? record.status}: ${e?.message ?? ''}`;
  io.err(`wfmesh run: execution ${record.execution_id} ${record.status}: ${what}`);
  return record.status === 'cancelled' ? 130 : 1;
}
