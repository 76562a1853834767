import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stepTable } from '../../../src/cli/step-table.js';
import { ProgressTracker, type ExecutionProgress } from '../../../src/executions/index.js';
import { ToolCatalog } from '../../../src/executor/agent-tools/catalog.js';
import { summarise, SUMMARY_CHARS, ToolCallLog } from '../../../src/executor/agent-tools/call-log.js';
import { ALL_TOOL_HANDLERS } from '../../../src/executor/tools/all.js';
import { StepFailure } from '../../../src/protocol/errors.js';
import type { ExecutionRecord } from '../../../src/protocol/execution.js';
import type { ToolCallRecord } from '../../../src/protocol/step.js';
import { BUILTIN_TOOL_METHODS, combineRequires, resolveAgentTools, validateWorkflowText } from '../../../src/workflow/index.js';

const handler = (type: string) => ALL_TOOL_HANDLERS.find((h) => h.type === type)!;

describe('tool schemas for the model', () => {
  test('every built-in type an agent may call has one schema per method, the same list the validator knows', () => {
    for (const h of ALL_TOOL_HANDLERS) {
      if (h.type === 'mcpremote') {
        assert.equal(h.schemas, undefined, 'mcpremote offers its server\'s tools, not its own methods');
        continue;
      }
      assert.deepEqual(Object.keys(h.schemas ?? {}).sort(), [...(BUILTIN_TOOL_METHODS[h.type] ?? [])].sort(), h.type);
    }
  });

  test('JSON Schemas come from the zod schemas: object schemas, input side (defaults optional)', () => {
    const catalog = new ToolCatalog();
    for (const h of ALL_TOOL_HANDLERS) if (h.schemas) catalog.addBuiltin({ id: h.type, type: h.type }, h.schemas);
    for (const f of catalog.functions()) {
      assert.equal(f.function.parameters.type, 'object', f.function.name);
      assert.equal(f.function.parameters.$schema, undefined);
      assert.match(f.function.name, /^[A-Za-z0-9_-]{1,64}$/);
    }
    const read = catalog.get('filesystem__read_file')!;
    assert.deepEqual(read.parameters.required, ['path'], 'encoding has a default: optional for the model');
    const http = catalog.get('http__request')!;
    assert.deepEqual(http.parameters.required, ['url']);
    assert.ok(catalog.get('transform__pick')!.parameters.anyOf, 'a union keeps its forms');
  });

  test('the same schema checks the arguments: a mistake is named by its path', () => {
    const catalog = new ToolCatalog();
    catalog.addBuiltin({ id: 'files', type: 'filesystem', methods: ['read_file'] }, handler('filesystem').schemas!);
    assert.deepEqual(catalog.names, ['files__read_file'], 'the method filter keeps read_file only');
    assert.deepEqual(catalog.get('files__read_file')!.check({ path: 'a.txt' }), { path: 'a.txt', encoding: 'utf8' });
    assert.throws(() => catalog.get('files__read_file')!.check({ path: 3 }), (e: unknown) => e instanceof StepFailure && e.type === 'invalid_args' && /files\.read_file: args\.path: /.test(e.message));
  });

  test('remote tools are namespaced and checked with their server\'s JSON Schema', () => {
    const catalog = new ToolCatalog();
    const inputSchema = { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] };
    catalog.addRemote({ id: 'calc', type: 'mcpremote', settings: { mcp_url: 'http://x/mcp' } }, [{ name: 'add', description: 'Adds', inputSchema }, { name: 'weird name!', inputSchema: { type: 'object' } }]);
    assert.deepEqual(catalog.names, ['calc__add', 'calc__weird_name_']);
    const add = catalog.get('calc__add')!;
    assert.equal(add.remoteTool, 'add');
    assert.equal(add.method, 'call');
    assert.match(add.description, /^add on the MCP server http:\/\/x\/mcp: Adds/);
    assert.throws(() => add.check({ a: 1 }), /calc\.add: args\.b: is required/);
    assert.deepEqual(add.check({ a: 1, b: 2 }), { a: 1, b: 2 });
  });

  test('names stay unique and within 64 characters', () => {
    const catalog = new ToolCatalog();
    const long = 'x'.repeat(70);
    catalog.addRemote({ id: 'srv', type: 'mcpremote' }, [{ name: long, inputSchema: {} }, { name: `${long}y`, inputSchema: {} }]);
    assert.equal(catalog.names.length, 2);
    assert.ok(catalog.names.every((n) => n.length <= 64));
    assert.notEqual(catalog.names[0], catalog.names[1]);
  });
});

describe('tool calls in the record', () => {
  test('arguments and results are summarised and capped', () => {
    assert.equal(summarise({ a: 'b' }), '{"a":"b"}');
    assert.equal(summarise('x'.repeat(1_000)).length, SUMMARY_CHARS);
    assert.equal(summarise('a\n\n  b'), 'a b');
  });

  test('the log tells the listener of each start, placement and end', () => {
    const told: ToolCallRecord[] = [];
    const log = new ToolCallLog((c) => told.push(c));
    let call = log.started(1, 0, 'files__read_file', 'files', 'read_file', '{"path":"a"}');
    call = log.placed(call, 'node-a');
    log.ended(call, { node: 'node-a', result: 'text' });
    assert.deepEqual(told.map((c) => [c.status, c.node]), [['running', undefined], ['running', 'node-a'], ['ok', 'node-a']]);
    assert.equal(told[2]!.result, 'text');
    assert.equal(typeof told[2]!.duration_ms, 'number');
  });

  test('progress says when a tool call starts, is placed and ends, with the value never going back', () => {
    const seen: ExecutionProgress[] = [];
    const t = new ProgressTracker('e1', (p) => seen.push(p));
    const call: ToolCallRecord = { round: 1, index: 0, name: 'files__read_file', tool: 'files', method: 'read_file', status: 'running', started_at: new Date().toISOString(), args: '{}' };
    const rec = (calls?: ToolCallRecord[]): ExecutionRecord => ({
      type: 'wfmesh.execution.v1', execution_id: 'e1', workflow: 'w', mode: 'distributed', status: 'running', coordinator: 'c', created_at: '', updated_at: '', steps_total: 1, steps_done: 0,
      steps: [{ id: 'research', status: 'running', attempts: 1, node: 'agent-node', ...(calls && { tool_calls: calls }) }],
    });
    t.update(rec(), 0);
    t.update(rec([call]), 0);
    t.update(rec([{ ...call, node: 'files-node' }]), 0);
    t.update(rec([{ ...call, node: 'files-node' }]), 0); // nothing new: no report
    t.update(rec([{ ...call, node: 'files-node', status: 'ok', duration_ms: 3 }]), 0);
    assert.deepEqual(seen.map((p) => p.message), [
      '0/1 steps done; research running on agent-node',
      '0/1 steps done; research running on agent-node; tool files.read_file running (1 call)',
      '0/1 steps done; research running on agent-node; tool files.read_file on files-node running (1 call)',
      '0/1 steps done; research running on agent-node; tool files.read_file on files-node ok (1 call)',
    ]);
    assert.ok(seen.every((p, i) => i === 0 || p.progress >= seen[i - 1]!.progress));
  });

  test("wfmesh run's step table lists each tool call under its step", () => {
    const r = {
      steps: [
        {
          id: 'research', status: 'completed', attempts: 1, node: 'agent-node',
          tool_calls: [
            { round: 1, index: 0, name: 'files__read_file', tool: 'files', method: 'read_file', node: 'files-node', status: 'ok', started_at: '', duration_ms: 12.4, args: '{}', result: 'x' },
            { round: 1, index: 1, name: 'eu_api__request', tool: 'eu_api', method: 'request', status: 'error', started_at: '', duration_ms: 0, args: '{}', error: 'invalid arguments' },
          ],
        },
      ],
    } as unknown as ExecutionRecord;
    const lines = stepTable(r).split('\n');
    assert.match(lines[0]!, /^STEP\s+STATUS\s+NODE\s+ATTEMPTS\s+DETAIL$/);
    assert.match(lines[1]!, /^research\s+completed\s+agent-node\s+1$/);
    assert.match(lines[2]!, /^ {2}↳ files\.read_file\s+ok\s+files-node\s+12 ms$/);
    assert.match(lines[3]!, /^ {2}↳ eu_api\.request\s+error\s+-\s+0 ms, invalid arguments$/);
  });
});

describe('agent tools in workflows', () => {
  const doc = (agentTools: string, extra = '') => `
tools:
  - {id: files, type: filesystem, requires: {region: eu-west}}
  - {id: calc, type: mcpremote, settings: {mcp_url: "http://h/mcp"}}
  - {id: vec, type: mcpbigquery_vector_search}
agents:
  - id: a
    model: m
    tools: ${agentTools}
${extra}
workflows:
  main: [{agent: a, input: x}]
`;
  test('ID, ID.method and {id, methods} forms; the same tool twice merges its methods when the step is resolved', () => {
    const r = validateWorkflowText(doc('[files.read_file, "files.list_dir", {id: calc, methods: [add]}, echo, files.read_file]'));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.document!.agents.a!.tools, [{ id: 'files', methods: ['read_file'] }, { id: 'files', methods: ['list_dir'] }, { id: 'calc', methods: ['add'] }, { id: 'echo' }, { id: 'files', methods: ['read_file'] }]);
    const specs = resolveAgentTools(r.document!, r.document!.agents.a!, undefined, (s) => s);
    assert.deepEqual(specs.map((s) => [s.id, s.methods]), [['files', ['read_file', 'list_dir']], ['calc', ['add']], ['echo', undefined]]);
    const all = validateWorkflowText(doc('[files.read_file, files]'));
    assert.equal(resolveAgentTools(all.document!, all.document!.agents.a!, undefined, (s) => s)[0]!.methods, undefined, 'an entry without a filter offers every method');
  });

  test('each entry is checked at its own line: a misspelt method beside the same tool unfiltered, an unknown tool after a repeated one', () => {
    const block = (entries: string[]): string => doc(`\n${entries.map((e) => `      - ${e}`).join('\n')}`);
    const typo = validateWorkflowText(block(['files', 'files.read_fil']));
    assert.deepEqual(typo.errors.map((e) => [e.path, e.line]), [['agents[0].tools[1].methods', 11]], JSON.stringify(typo.errors));
    const later = validateWorkflowText(block(['files.read_file', 'files.list_dirr']));
    assert.deepEqual(later.errors.map((e) => [e.path, e.line]), [['agents[0].tools[1].methods', 11]], JSON.stringify(later.errors));
    const unknown = validateWorkflowText(block(['files', 'files', 'nosuch']));
    assert.deepEqual(unknown.warnings.filter((w) => /unknown tool "nosuch"/.test(w.message)).map((w) => [w.path, w.line]), [['agents[0].tools[2]', 12]]);
  });

  test('a method the type lacks is an error; a tool an agent cannot call is a fault (a warning; the step fails when it runs; strict refuses it)', () => {
    const r = validateWorkflowText(doc('[files.read_fil, vec, nothing, echo]'));
    assert.ok(r.errors.some((e) => /tool "files" \(filesystem\) has no method "read_fil" \(did you mean "read_file"\?\)/.test(e.message)), JSON.stringify(r.errors));
    assert.ok(r.warnings.some((w) => /tool "vec" has type "mcpbigquery_vector_search", which an agent cannot call/.test(w.message)));
    assert.ok(r.warnings.some((w) => /lists unknown tool "nothing"/.test(w.message)));
    // Faults, as LangSwarm loads them: strict validation refuses them.
    assert.deepEqual(r.faults.map((f) => /unknown tool "nothing"|which an agent cannot call/.test(f.message)), [true, true]);
    const strict = validateWorkflowText(doc('[vec, nothing, echo]'), { strict: true });
    assert.equal(strict.valid, false);
    assert.ok(strict.errors.some((e) => /lists unknown tool "nothing"/.test(e.message)));
  });

  test('"ID." names no method: an error at that entry, and the agent is still defined', () => {
    const r = validateWorkflowText(doc('[echo, "files."]'));
    assert.deepEqual(r.errors.map((e) => [e.path, e.message]), [['agents[0].tools[1]', '"files." names no method after the dot: files (every method) or files.METHOD']]);
    assert.deepEqual(r.warnings.filter((w) => /not defined/.test(w.message)), [], 'no second, misleading warning that the agent is missing');
  });

  test('max_tool_rounds is a positive whole number', () => {
    assert.equal(validateWorkflowText(doc('[echo]', '    max_tool_rounds: 3')).document?.agents.a?.max_tool_rounds, 3);
    assert.ok(validateWorkflowText(doc('[echo]', '    max_tool_rounds: 0')).errors.some((e) => /max_tool_rounds/.test(e.path)));
  });

  test("a tool outside its agent's region is an error: no call of it could be placed", () => {
    const r = validateWorkflowText(doc('[files]', '    requires: {region: us-east}'));
    assert.ok(r.errors.some((e) => /agent "a" is bound to region us-east, and tool "files" may not run there/.test(e.message)), JSON.stringify(r.errors));
  });

  test('combineRequires: both hold; regions intersect, patterns narrow, contradictions are named', () => {
    assert.deepEqual(combineRequires({ region: 'eu-west' }, undefined), { requires: { region: 'eu-west' } });
    assert.deepEqual(combineRequires({ region: ['eu-west', 'us-east'] }, { region: 'eu-*' }), { requires: { region: 'eu-west' } });
    assert.deepEqual(combineRequires({ region: 'eu-*', labels: { a: '1' } }, { labels: { b: '2' }, min_cpus: 2 }).requires, { region: 'eu-*', labels: { a: '1', b: '2' }, min_cpus: 2 });
    assert.match(combineRequires({ region: 'eu-west' }, { region: 'us-east' }).conflict ?? '', /share no region/);
    assert.match(combineRequires({ labels: { a: '1' } }, { labels: { a: '2' } }).conflict ?? '', /labels\.a/);
    assert.deepEqual(combineRequires({ gpu: true }, { gpu: { min_vram_mib: 100 } }).requires, { gpu: { min_vram_mib: 100 } });
  });
});
