import type { NatsConnection } from 'nats';
import type { MeshNode } from '../src/node/index.js';
import { decodeJson, encodeJson } from '../src/protocol/codec.js';
import { ExecuteReplySchema, type ExecuteRequest } from '../src/protocol/execute.js';
import { ExecutionEventSchema, type ExecutionEvent } from '../src/protocol/execution.js';
import { subjects } from '../src/protocol/subjects.js';
import { startNodeProcess } from './node-process.js';
import { median, round } from './stats.js';

const WORKFLOW = `workflows:
  main:
    - {id: nap, tool: sleep, args: {ms: 400}}
    - {id: after, tool: sleep, args: {ms: 10}}
`;

/**
 * takeover_ms: a coordinator (its own process, offering no tool, so its steps run on the workers)
 * is killed with kill -9 while its execution's first step runs; the figure is the time from the
 * kill to its successor dispatching the next step (the first step event under a new coordinator).
 */
export async function measureTakeover(observer: MeshNode, nc: NatsConnection, url: string, rounds: number): Promise<{ takeover_ms: number }> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const name = `bench-coord-${i}`;
    const proc = await startNodeProcess(['--nats', url, '--name', name, '--no-mcp', '--tools', 'transform']);
    let peer = observer.registry.list().find((p) => p.name === name);
    while (!peer) {
      await new Promise((r) => setTimeout(r, 10));
      peer = observer.registry.list().find((p) => p.name === name);
    }
    const request: ExecuteRequest = { type: 'wfmesh.execute.request.v1', yaml: WORKFLOW, mode: 'async', input: 'x' };
    let killedAt = 0;
    let dispatchedAt = 0;
    // Listening before the start: the first step's "running" event may come before the reply does.
    let executionId: string | undefined;
    const early: ExecutionEvent[] = [];
    const onEvent = (e: ExecutionEvent): void => {
      if (executionId === undefined) {
        early.push(e);
        return;
      }
      if (e.execution_id !== executionId) return;
      if (!killedAt && e.step?.id === 'nap' && e.step.status === 'running') {
        killedAt = Date.now();
        proc.kill('SIGKILL');
      } else if (killedAt && !dispatchedAt && e.coordinator !== name && e.step?.id === 'after' && e.step.status === 'running') {
        dispatchedAt = Date.now();
      }
    };
    const sub = nc.subscribe(subjects.eventsAll(), {
      callback: (_err, msg) => {
        const event = ExecutionEventSchema.safeParse(decodeJson(msg.data));
        if (event.success) onEvent(event.data);
      },
    });
    await nc.flush();
    const reply = ExecuteReplySchema.parse(decodeJson((await nc.request(subjects.execute(peer.name, peer.id), encodeJson(request), { timeout: 10_000 })).data));
    if (!reply.ok) throw new Error(`execute: ${reply.message}`);
    executionId = reply.execution_id;
    for (const e of early.splice(0)) onEvent(e);
    const giveUp = Date.now() + 30_000;
    while (!dispatchedAt && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 10));
    sub.unsubscribe();
    proc.kill('SIGKILL');
    if (!dispatchedAt) throw new Error(`no successor dispatched the next step of ${executionId} within 30 s`);
    samples.push(dispatchedAt - killedAt);
  }
  return { takeover_ms: round(median(samples)) };
}
