import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStepExecutor, type StepExecutor } from '../../../src/executor/index.js';
import { hostAllowed } from '../../../src/executor/tools/hosts.js';
import { never, rejectsWith, testEnv, toolTask } from './helpers.js';

let server: Server;
let other: Server;
let base: string;
let otherBase: string;
let ex: StepExecutor;
const req = (args: unknown, settings?: Record<string, unknown>, signal = never()): Promise<unknown> =>
  ex.execute(toolTask('http', 'request', args, settings), signal);

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

before(async () => {
  other = createServer((_q, res) => res.end('other'));
  otherBase = await listen(other);
  server = createServer((q, res) => {
    let body = '';
    q.on('data', (c: Buffer) => (body += c.toString()));
    q.on('end', () => {
      if (q.url === '/json') {
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(JSON.stringify({ method: q.method, body, ct: q.headers['content-type'] ?? null, auth: q.headers.authorization ?? null }));
      } else if (q.url === '/text') res.end('plain text');
      else if (q.url === '/status') { res.statusCode = 503; res.end('down'); }
      else if (q.url === '/redirect-in') { res.writeHead(302, { location: '/text' }); res.end(); }
      else if (q.url === '/redirect-out') { res.writeHead(302, { location: `${otherBase}/` }); res.end(); }
      else if (q.url === '/slow') setTimeout(() => res.end('late'), 5_000).unref();
      else if (q.url === '/big') res.end('x'.repeat(50_000));
      else { res.statusCode = 404; res.end(); }
    });
  });
  base = await listen(server);
  ex = createStepExecutor(testEnv({ allow: { http_hosts: [new URL(base).host] }, max_output_bytes: 10_000 }));
});
after(() => {
  server.closeAllConnections();
  server.close();
  other.close();
});

describe('http', () => {
  test('GET text and POST JSON', async () => {
    const text = (await req({ url: `${base}/text` })) as { status: number; headers: Record<string, string>; body: unknown };
    assert.equal(text.status, 200);
    assert.equal(text.body, 'plain text');
    assert.equal(text.headers['content-length'], '10');
    const out = (await req({ url: `${base}/json`, method: 'post', body: { a: 1 }, headers: { authorization: 'Bearer t' } })) as { status: number; body: unknown };
    assert.equal(out.status, 200);
    assert.deepEqual(out.body, { method: 'POST', body: '{"a":1}', ct: 'application/json', auth: 'Bearer t' });
  });

  test('a non-2xx status is a result, not a failure', async () => {
    const out = (await req({ url: `${base}/status` })) as { status: number; body: unknown };
    assert.equal(out.status, 503);
    assert.equal(out.body, 'down');
  });

  test('settings give a base URL and default headers', async () => {
    const out = (await req({ url: '/json' }, { base_url: base, headers: { authorization: 'Bearer s' } })) as { body: { auth: string } };
    assert.equal(out.body.auth, 'Bearer s');
  });

  test('a host that is not allow-listed is denied', async () => {
    await rejectsWith(req({ url: `${otherBase}/` }), 'denied', /host "127\.0\.0\.1:\d+" is not in this node's allow-list/);
    await rejectsWith(req({ url: 'http://example.com/' }), 'denied', /"example\.com" is not in this node's allow-list/);
    await rejectsWith(req({ url: 'file:///etc/passwd' }), 'denied', /only http and https/);
    const closed = createStepExecutor(testEnv());
    await rejectsWith(closed.execute(toolTask('http', 'request', { url: `${base}/text` }), never()), 'denied', /allows no outbound hosts/);
  });

  test('redirects are followed inside the allow-list only', async () => {
    assert.equal(((await req({ url: `${base}/redirect-in` })) as { body: string }).body, 'plain text');
    await rejectsWith(req({ url: `${base}/redirect-out` }), 'denied', /http \(redirect\): host .* is not in this node's allow-list/);
  });

  test('timeout, cancel, size cap, unreachable and bad args', async () => {
    await rejectsWith(req({ url: `${base}/slow`, timeout_ms: 50 }), 'timeout', /timed out after 50 ms/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await rejectsWith(req({ url: `${base}/slow` }, undefined, ac.signal), 'cancelled');
    await rejectsWith(req({ url: `${base}/big` }), 'tool_error', /max_output_bytes limit of 10000/);
    const dead = createServer();
    const deadBase = await listen(dead);
    await new Promise((r) => dead.close(r));
    const ex2 = createStepExecutor(testEnv({ allow: { http_hosts: ['127.0.0.1'] } }));
    await rejectsWith(ex2.execute(toolTask('http', undefined, { url: deadBase }), never()), 'tool_error', /cannot reach .*ECONNREFUSED/);
    await rejectsWith(req({ url: 'not a url' }), 'invalid_args', /not a valid URL/);
    await rejectsWith(req({}), 'invalid_args', /args\.url: is required/);
  });
});

describe('hostAllowed', () => {
  const ok = (url: string, list: string[]): boolean => hostAllowed(new URL(url), list);
  test('host, host:port, wildcard sub-domains, IPv6', () => {
    assert.ok(ok('https://api.example.com/x', ['api.example.com']));
    assert.ok(ok('https://API.example.com:443/x', ['api.example.com:443']));
    assert.ok(!ok('https://api.example.com:8443/x', ['api.example.com:443']));
    assert.ok(ok('http://a.b.example.com/', ['*.example.com']));
    assert.ok(!ok('http://example.com/', ['*.example.com']));
    assert.ok(!ok('http://evilexample.com/', ['*.example.com']));
    assert.ok(!ok('http://api.example.com.evil.io/', ['api.example.com']));
    assert.ok(ok('http://[::1]:8080/', ['[::1]:8080']));
    assert.ok(ok('http://anything/', ['*']));
  });
});
