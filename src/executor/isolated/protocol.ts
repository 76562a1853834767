import { z } from 'zod';
import { StepFailureWireSchema } from '../../protocol/errors.js';
import { StepTaskSchema } from '../../protocol/step.js';

/** The executor environment as it crosses into a worker (mirrors `ExecutorEnvironment`). */
export const ExecutorEnvironmentSchema = z.object({
  node_name: z.string(),
  allow: z.object({
    filesystem_root: z.string().optional(),
    http_hosts: z.array(z.string()),
    shell_commands: z.array(z.string()),
    env_vars: z.array(z.string()),
  }),
  llm: z.object({
    base_url: z.string().optional(),
    api_key: z.string().optional(),
    models: z.array(z.string()),
    timeout_ms: z.number(),
  }),
  max_output_bytes: z.number().int().positive(),
});

/** Parent → worker: the one task this process runs. */
export const WorkerRunSchema = z.object({
  type: z.literal('wfmesh.worker.run.v1'),
  task: StepTaskSchema,
  env: ExecutorEnvironmentSchema,
  tools: z.array(z.string()),
});
export type WorkerRun = z.infer<typeof WorkerRunSchema>;

/** Worker → parent: started and listening (lets a pre-started spare be told apart from a dead one). */
export const WorkerReadySchema = z.object({ type: z.literal('wfmesh.worker.ready.v1') });

/** Worker → parent: the outcome of the task. */
export const WorkerResultSchema = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('wfmesh.worker.result.v1'), ok: z.literal(true), output: z.unknown() }),
  z.object({ type: z.literal('wfmesh.worker.result.v1'), ok: z.literal(false), failure: StepFailureWireSchema }),
]);
export type WorkerResult = z.infer<typeof WorkerResultSchema>;

export const WorkerToParentSchema = z.union([WorkerReadySchema, WorkerResultSchema]);
