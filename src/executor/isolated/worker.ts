import { StepFailure } from '../../protocol/errors.js';
import { buildLocalExecutor, type ExecutorParts } from '../local.js';
import { faultTool } from './faults.js';
import { WorkerRunSchema, type WorkerResult } from './protocol.js';

/** Exit codes of a worker that could not do its job (the parent reports them as a crash). */
const EXIT_NO_IPC = 2;

/**
 * The loop of one isolated step process: say ready, take exactly one task over IPC, run it in
 * process with the given parts, send the result, exit. The parent kills the process (and its
 * process group) on timeout or cancel, so nothing here needs to be interruptible.
 */
export function runStepWorker(parts: ExecutorParts): Promise<number> {
  const send = process.send?.bind(process);
  if (!send) {
    process.stderr.write('wfmesh __step-worker: started without an IPC channel; it is started by a node, not by hand\n');
    return Promise.resolve(EXIT_NO_IPC);
  }
  const faults = process.env.WFMESH_TEST_FAULTS === '1';
  const handlers = faults ? [...parts.handlers, faultTool] : parts.handlers;
  // The parent went away: nobody wants the result.
  process.on('disconnect', () => process.exit(0));

  return new Promise<number>(() => {
    let started = false;
    process.on('message', (raw: unknown) => {
      if (started) return;
      started = true;
      void runOne(raw).then((result) => {
        send(result, undefined, {}, () => process.exit(0));
      });
    });
    send({ type: 'wfmesh.worker.ready.v1' });
  });

  async function runOne(raw: unknown): Promise<WorkerResult> {
    try {
      const parsed = WorkerRunSchema.safeParse(raw);
      if (!parsed.success) throw new StepFailure('internal', `step worker got a malformed task: ${parsed.error.message}`, false);
      const { task, env, tools } = parsed.data;
      // A slim worker lacks the heavy tools; the parent sends only tasks it can run.
      const mine = tools.filter((t) => handlers.some((h) => h.type === t));
      const executor = buildLocalExecutor(env, { ...parts, handlers }, { tools: faults ? [...mine, 'fault'] : mine });
      const output = await executor.execute(task, new AbortController().signal);
      return { type: 'wfmesh.worker.result.v1', ok: true, output };
    } catch (err) {
      return { type: 'wfmesh.worker.result.v1', ok: false, failure: StepFailure.from(err).toWire() };
    }
  }
}
