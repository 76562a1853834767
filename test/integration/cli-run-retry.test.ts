/**
 * `wfmesh run` chooses the execution id once: a node that is slow to accept is asked again with
 * the same id (so it can return the execution it started), and no other node is asked once one
 * has accepted. The "nodes" here are real NATS micro services named `wfmesh` on a real server,
 * answering the execute endpoint only on the second request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { runOnMesh } from '../../src/cli/mesh-run.js';
import { connectNats } from '../../src/nats/index.js';
import { decodeJson, encodeJson } from '../../src/protocol/codec.js';
import { SERVICE_NAME, subjects } from '../../src/protocol/subjects.js';
import { startTestNats, type TestNats } from '../harness/nats.js';

interface Seen {
  node: string;
  execution_id: unknown;
}

describe('wfmesh run: one execution id, asked again, never fanned out', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  const seen: Seen[] = [];

  before(async () => {
    nats = await startTestNats({ useEnv: false });
    nc = await connectNats({ servers: [nats.url] }, 'wfmesh:run-retry-standins');
    for (const name of ['slow-1', 'slow-2']) {
      const svc = await nc.services.add({ name: SERVICE_NAME, version: '0.0.0', metadata: { name } });
      let asked = 0;
      svc.addEndpoint('execute', {
        subject: subjects.execute(name, svc.info().id),
        handler: (_err, msg) => {
          const req = decodeJson(msg.data) as { execution_id?: unknown };
          seen.push({ node: name, execution_id: req.execution_id });
          // The first request is "still validating": no reply in time. The repeat is answered.
          if (++asked === 1) return;
          msg.respond(encodeJson({ type: 'wfmesh.execute.reply.v1', ok: true, execution_id: req.execution_id, status: 'running', node: name }));
        },
      });
    }
  });

  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  test('the same id on the retry, one node asked, and that id is the execution followed', async () => {
    const lines: string[] = [];
    const record = await runOnMesh(
      { yaml: 'workflows: {w: [{tool: echo, args: {}}]}', input: 'x', mode: 'async', nats: nats.url, signal: new AbortController().signal, acceptTimeoutMs: 1_000 },
      { out: () => undefined, err: (t) => lines.push(t) },
    );
    assert.equal(seen.length, 2, JSON.stringify(seen));
    assert.equal(seen[0]!.node, seen[1]!.node, 'the node that was slow is asked again, no other');
    assert.equal(typeof seen[0]!.execution_id, 'string');
    assert.equal(seen[0]!.execution_id, seen[1]!.execution_id);
    assert.equal(record.execution_id, seen[0]!.execution_id);
    assert.match(lines.join('\n'), new RegExp(`execution ${String(seen[0]!.execution_id)} started on ${seen[0]!.node}`));
  });
});
