import type { NatsConnection } from 'nats';
import { StepServer } from '../../../src/dispatch/index.js';
import { createStepExecutor } from '../../../src/executor/index.js';
import { silentLogger } from '../../../src/log/index.js';
import type { StepRequest } from '../../../src/protocol/step.js';
import { subjects } from '../../../src/protocol/subjects.js';

/** Step request number `n` of execution `ex` (keyed like a dispatcher's), with `task`; `over` replaces fields. */
export function stepRequest(n: number, task: StepRequest['task'], over: Partial<StepRequest> = {}): StepRequest {
  return {
    type: 'wfmesh.step.request.v1',
    key: `ex:s${n}:1:${n}`,
    idempotency_key: `ex:s${n}:1`,
    execution_id: 'ex',
    step_id: `s${n}`,
    attempt: 1,
    origin: 'test',
    deadline: Date.now() + 30_000,
    isolation: 'in_process',
    task,
    ...over,
  };
}

/** What a test node's executor may touch: nothing outside this directory, no host, no command. */
const testEnv = (name: string) => ({ node_name: name, allow: { filesystem_root: process.cwd(), http_hosts: [], shell_commands: [], env_vars: [] }, llm: { models: [], timeout_ms: 1_000 }, max_output_bytes: 1 << 20 });

/** A started step server named `name` on `nc` with the built-in tools, and the requests that ended there (in order). */
export function startStepServer(nc: NatsConnection, name: string, maxConcurrency: number): { server: StepServer; id: string; subject: string; ended: StepRequest[] } {
  const id = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  const ended: StepRequest[] = [];
  const server = new StepServer({
    nc,
    nodeId: id,
    nodeName: name,
    maxConcurrency,
    executor: createStepExecutor(testEnv(name)),
    accepting: () => true,
    onLoadChange: () => undefined,
    onStepEnd: (req) => ended.push(req),
    log: silentLogger(),
  });
  server.start();
  return { server, id, subject: subjects.step(name, id), ended };
}
