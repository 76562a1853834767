import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { StepServer, type StepServerOptions } from '../../../src/dispatch/index.js';
import { createStepExecutor } from '../../../src/executor/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { decodeJson, encodeJson } from '../../../src/protocol/codec.js';
import type { StepReply, StepRequest } from '../../../src/protocol/step.js';
import { subjects } from '../../../src/protocol/subjects.js';
import { natsForTests } from '../../harness/nats.js';
import { stepRequest } from './step-requests.js';

const shared = natsForTests();
const env = { node_name: 'n', allow: { filesystem_root: process.cwd(), http_hosts: [], shell_commands: [], env_vars: [] }, llm: { models: [], timeout_ms: 1_000 }, max_output_bytes: 1 << 20 };

let n = 0;
const request = (over: Partial<StepRequest> = {}): StepRequest => {
  n++;
  return stepRequest(n, { kind: 'tool', tool_id: 'echo', tool_type: 'echo', args: { n } }, over);
};

/** A step server over NATS whose ended steps are counted, as metrics and the audit line count them. */
function server(opts: { accepting?: () => boolean; maxConcurrency?: number; results?: StepServerOptions['results'] } = {}) {
  const ended: { key: string; ok: boolean }[] = [];
  /** Every slot taken or given back: an instant step takes none. */
  const loads: number[] = [];
  const id = `id-${Math.random().toString(36).slice(2, 8)}`;
  const s = new StepServer({
    nc: shared.nc,
    nodeId: id,
    nodeName: 'n',
    maxConcurrency: opts.maxConcurrency ?? 4,
    executor: createStepExecutor(env),
    accepting: opts.accepting ?? (() => true),
    onLoadChange: (inflight) => void loads.push(inflight),
    onStepEnd: (req, reply) => ended.push({ key: req.key, ok: reply.ok }),
    log: silentLogger(),
    ...(opts.results && { results: opts.results }),
  });
  s.start();
  const send = async (req: StepRequest): Promise<StepReply> => decodeJson((await shared.nc.request(subjects.step('n', id), encodeJson(req), { timeout: 5_000 })).data) as StepReply;
  return { s, ended, loads, send };
}

test('instant steps over the wire: replied, counted and audited once each, failures named', async () => {
  const { s, ended, loads, send } = server();
  const ok = await Promise.all([1, 2, 3, 4, 5, 6].map(() => send(request())));
  assert.ok(ok.every((r) => r.ok));
  assert.deepEqual(ok.map((r) => (r.ok ? r.output : undefined)), ok.map((_, i) => ({ n: n - 5 + i })));
  const bad = await send(request({ task: { kind: 'tool', tool_id: 't', tool_type: 'transform', method: 'split', args: { text: 1 } } }));
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.failure.message : '', /transform\.split: args\.text/);
  await new Promise((r) => setImmediate(r));
  assert.equal(ended.length, 7, 'one end per step');
  assert.equal(new Set(ended.map((e) => e.key)).size, 7);
  assert.equal(s.admitted, 7);
  assert.equal(s.inflight, 0);
  assert.deepEqual(loads, [], 'run at once: no slot taken (the usual way takes one and gives it back)');
  // A step that is not instant takes the usual way, with its slot.
  assert.equal((await send(request({ task: { kind: 'tool', tool_id: 's', tool_type: 'sleep', args: { ms: 1 } } }))).ok, true);
  assert.deepEqual(loads, [1, 0]);
});

test('an instant step from an older coordinator (a lower epoch) is refused as superseded', async () => {
  const { send } = server();
  const exec = `ex-epoch-${n}`;
  assert.equal((await send(request({ execution_id: exec, epoch: 2 }))).ok, true);
  const stale = await send(request({ execution_id: exec, epoch: 1 }));
  assert.equal(stale.ok, false);
  assert.equal(!stale.ok && stale.failure.type, 'superseded');
  assert.equal((await send(request({ execution_id: exec, epoch: 3 }))).ok, true);
});

test('a draining node refuses instant steps as busy, as any other', async () => {
  let accepting = true;
  const { send } = server({ accepting: () => accepting });
  assert.equal((await send(request())).ok, true);
  accepting = false;
  const refused = await send(request());
  assert.equal(!refused.ok && refused.failure.type, 'busy');
});

test('a step whose stored result cannot be read is answered with why, and the node serves the next steps', async () => {
  let reads = 0;
  const results: StepServerOptions['results'] = {
    get: async () => {
      reads++;
      throw new Error('results bucket unavailable');
    },
    put: async () => undefined,
  };
  const { send } = server({ results });
  // A step with an effect looks its key up before it runs; the lookup fails, so it does not run.
  const write = () => request({ task: { kind: 'tool', tool_id: 'fs', tool_type: 'filesystem', method: 'write_file', args: { path: 'never-written.txt', content: 'x' } } });
  const failed = await send(write());
  assert.equal(reads, 1);
  assert.equal(failed.ok, false);
  assert.equal(!failed.ok && failed.failure.type, 'internal');
  assert.equal(!failed.ok && failed.failure.retryable, true);
  assert.match(!failed.ok ? failed.failure.message : '', /results bucket unavailable/);
  // The same server goes on: an instant step, then another lookup that fails the same way.
  assert.equal((await send(request())).ok, true);
  assert.equal((await send(write())).ok, false);
  assert.equal(reads, 2);
  assert.equal(existsSync('never-written.txt'), false);
});
