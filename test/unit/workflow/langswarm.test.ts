/**
 * LangSwarm files as LangSwarm users write them (fixtures in test/fixtures/langswarm, written for
 * this project in LangSwarm's style): each form is turned into the wfmesh model with LangSwarm's
 * meaning, or refused with a message that names the feature and the wfmesh way.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BEHAVIOR_PROMPTS,
  evaluateCondition,
  formatIssue,
  mergeWorkflowFiles,
  validateWorkflowFiles,
  validateWorkflowText,
  type AgentStep,
  type ToolStep,
  type ValidationResult,
  type VariableScope,
} from '../../../src/workflow/index.js';

import { LocalStepRunner, runExecution, type StepCall } from '../../../src/engine/index.js';
import { TestExecutor } from '../engine/helpers.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/langswarm/', import.meta.url));
const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const folder = (name: string): Record<string, string> =>
  Object.fromEntries(readdirSync(join(FIXTURES, name)).map((f) => [f, read(join(name, f))]));
const messages = (list: ValidationResult['errors']): string[] => list.map(formatIssue);
const has = (list: string[], re: RegExp): void => assert.ok(list.some((m) => re.test(m)), `nothing matches ${re}:\n${list.join('\n')}`);

function valid(r: ValidationResult): NonNullable<ValidationResult['document']> {
  assert.deepEqual(messages(r.errors), []);
  assert.ok(r.document);
  return r.document;
}

describe('config folders', () => {
  test('agents.yaml + tools.yaml + workflows.yaml merge into one document; warnings name their file and line', () => {
    const r = validateWorkflowFiles(folder('support'));
    const doc = valid(r);
    assert.deepEqual(Object.keys(doc.workflows), ['support_flow', 'triage_flow', 'kind_flow']);
    assert.deepEqual(Object.keys(doc.agents), ['classifier', 'triager', 'escalator', 'answerer']);
    assert.deepEqual(r.used, ['agents.yaml', 'tools.yaml', 'workflows.yaml']);
    has(messages(r.warnings), /^agents\.yaml line 5 agents\[0\]\.name: agent key "name" is ignored/);
    has(messages(r.warnings), /^tools\.yaml line 6 tools\[1\]\.type: tool type "mcpbigquery_vector_search" is not one wfmesh has/);
    // The merged text is what a mesh node is sent, and validates on its own.
    assert.equal(validateWorkflowText(r.merged ?? '').valid, true);
  });

  test('errors name the file, its path and line; a name defined twice names both files', () => {
    const files = {
      'agents.yaml': 'agents:\n  - id: a\n    model: m\n',
      'workflows.yaml': 'workflows:\n  main_workflow:\n    - id: w\n      steps:\n        - id: s\n          agent: a\n          input: ${nope.output}\n',
      'extra.yaml': 'agents:\n  - id: b\n    model: m\nworkflows:\n  main_workflow:\n    - id: w2\n      steps:\n        - {tool: echo}\n',
      'more.yaml': 'workflows:\n  other: {steps: [{tool: echo}]}\n',
      'dup.yaml': 'workflows:\n  other: {steps: [{tool: echo}]}\n',
      'docker-compose.yml': 'services:\n  x: {image: y}\n',
    };
    const r = validateWorkflowFiles(files);
    const errs = messages(r.errors);
    // A variable naming no step is a fault (the step fails when reached), reported where it is.
    has(messages(r.faults), /^workflows\.yaml line 7 workflows\.main_workflow\[0\]\.steps\[0\]\.input: \$\{nope\.output\}: no step "nope"/);
    has(errs, /^more\.yaml line 2 workflows\.other: workflows "other" is also defined in dup\.yaml; a name is defined once in a folder/);
    has(messages(r.warnings), /^docker-compose\.yml line 1: docker-compose\.yml is not a LangSwarm config file/);
    // A YAML error names its file too, and merging alone reports it.
    const broken = mergeWorkflowFiles({ 'agents.yaml': 'agents: [\n', 'workflows.yaml': 'workflows: {w: [{tool: echo}]}' });
    assert.equal(broken.ok, false);
    assert.equal(!broken.ok && broken.errors[0]?.file, 'agents.yaml');
  });
});

describe('agents as LangSwarm writes them', () => {
  test('instructions, behavior presets, default model, provider, response_format, tools', () => {
    const doc = valid(validateWorkflowFiles(folder('support')));
    const { classifier, triager, escalator, answerer } = doc.agents;
    assert.match(classifier?.system_prompt ?? '', /^Classify the ticket/);
    assert.equal(triager?.system_prompt, BEHAVIOR_PROMPTS.analytical);
    assert.equal(triager?.model, '', 'no model: the node picks its first llm.models');
    assert.equal(triager?.response_format, 'json');
    assert.deepEqual(triager?.tools, [{ id: 'notes' }, { id: 'filesystem' }]);
    assert.equal(escalator?.system_prompt, 'Write an escalation note for the on-call engineer.');
    assert.equal(answerer?.system_prompt, BEHAVIOR_PROMPTS.helpful);
  });

  test('a map keyed by id, names only, free-text behaviour; a typo of an agent is a fault, another name a default agent', () => {
    const r = validateWorkflowText(`
agents:
  helper: {model: m, behavior: "You answer in French."}
  other: [x]
workflows:
  w:
    - {agent: helper, input: hi}
    - {agent: helpr, input: hi}
    - {agent: stranger, input: hi, output: {to: user}}
`);
    const errs = messages(r.errors);
    has(errs, /agents\.other: an agent is a mapping/);
    // LangSwarm loads the file and fails when a run reaches the step: a fault, an error only when strict.
    has(messages(r.faults), /steps\[1\]\.agent: unknown agent "helpr" \(did you mean "helper"\?\)/);
    has(messages(r.warnings), /steps\[1\]\.agent: unknown agent "helpr" .*: a run that reaches step "helpr" fails there/);
    has(messages(r.warnings), /steps\[2\]\.agent: agent "stranger" is not defined: it runs as a default agent/);
    const names = validateWorkflowText('agents: [assistant]\nworkflows: {w: [{agent: assistant, input: hi}]}');
    assert.equal(valid(names).agents.assistant?.system_prompt, BEHAVIOR_PROMPTS.helpful);
    const text = valid(validateWorkflowText('agents:\n  helper: {behavior: "You answer in French."}\nworkflows: {w: [{agent: helper, input: hi}]}'));
    assert.equal(text.agents.helper?.system_prompt, 'You answer in French.');
    has(messages(validateWorkflowText('agents: [{id: a, behavior: grumpy}]\nworkflows: {w: [{agent: a, input: x}]}').errors), /unknown behavior "grumpy" \(helpful, analytical, research, coding/);
  });
});

describe('steps as LangSwarm writes them', () => {
  test('function: mcp_call → a tool step: local:// a mesh tool, http(s):// mcpremote, stdio:// refused', () => {
    const doc = valid(validateWorkflowFiles(folder('support')));
    const log = doc.workflows.triage_flow?.steps.find((s) => s.id === 'log') as ToolStep;
    assert.equal(log.kind, 'tool');
    assert.equal(log.tool, 'notes');
    assert.equal(log.method, 'echo');
    assert.deepEqual(log.args, { note: '${context.step_outputs.triage}' });
    const remote = valid(validateWorkflowText(`
workflows:
  w:
    - id: call
      function: mcp_call
      args: {mcp_url: "https://tools.example/mcp", payload: {name: search, arguments: {q: "\${user_input}"}}}
      output: {to: user}
`)).workflows.w?.steps[0] as ToolStep;
    assert.deepEqual([remote.tool, remote.method, remote.args], ['mcpremote', 'call', { mcp_url: 'https://tools.example/mcp', tool: 'search', arguments: { q: '${user_input}' } }]);
    const local = validateWorkflowText('workflows: {w: [{function: mcp_call, args: {mcp_url: "local://tasklist", payload: "${user_input}"}}]}');
    assert.equal((valid(local).workflows.w?.steps[0] as ToolStep).tool, 'tasklist');
    has(messages(local.warnings), /local:\/\/tasklist: runs on a node that offers the tool "tasklist"/);
    // Refused as LangSwarm would fail: the file loads, the step fails when reached (strict: an error).
    const refused = validateWorkflowText(read('mixed.yaml'), { strict: true });
    const errs = messages(refused.errors);
    assert.equal(errs.length, 1, `one error, no cascade:\n${errs.join('\n')}`);
    has(errs, /^line 22 .*args\.mcp_url: stdio:\/\/github_mcp: wfmesh does not start MCP servers over stdio .* use mcp_url: http:\/\/HOST\/mcp \(mcpremote\)/);
    const loose = validateWorkflowText(read('mixed.yaml'));
    assert.equal(loose.valid, true);
    assert.match(String(valid(loose).workflows.uses_stdio?.steps.find((s) => s.fault)?.fault), /stdio:\/\/github_mcp/);
    has(messages(validateWorkflowText('workflows: {w: [{function: mcp_fetch_schema, args: {mcp_url: "local://x"}}]}').faults), /mcp_fetch_schema is not needed/);
    has(messages(validateWorkflowText('workflows: {w: [{function: my.mod.fn, args: {}}]}', { strict: true }).errors), /Python function "my\.mod\.fn" cannot run in wfmesh: use a tool step/);
  });

  test('inputs, output_key, ${previous_output} and {step: X} become wfmesh references', () => {
    const doc = valid(validateWorkflowText(read('run-variables.yaml')));
    const [normalize, plan, write] = doc.workflows.plan_and_write?.steps as AgentStep[];
    assert.deepEqual(normalize?.input, { user_input: '${user_input}', user_query: '${inputs.user_query}' });
    assert.equal(plan?.input, 'Plan for: ${normalize.output}');
    assert.deepEqual(plan?.routes, [{ kind: 'goto', targets: ['write'] }]);
    assert.equal(write?.input, 'Write from this plan: ${plan.output}');
    has(messages(validateWorkflowText('workflows: {w: [{tool: echo, args: "${previous_output}"}]}').errors), /\$\{previous_output\} in the first step: there is no step before it/);
  });

  test('an undeclared ${NAME} is a run keyword, read from the run input with a warning; a typo or a missing step stays an error', async () => {
    const r = validateWorkflowText(`
agents: [{id: triage, model: gpt-4o-mini}]
workflows:
  main_workflow:
    - id: support
      steps:
        - id: first
          agent: triage
          input: "Ticket \${context.ticket} (\${tier}): \${user_query}"
          output: {to: second}
        - id: second
          tool: echo
          args: {query: "\${user_query}", tier: "\${tier}", from: "\${first.output}", who: "\${triage.output}"}
          output: {to: user}
`);
    const doc = valid(r);
    const [first, second] = doc.workflows.support?.steps as [AgentStep, ToolStep];
    assert.equal(first.input, 'Ticket ${inputs.ticket} (${inputs.tier}): ${user_input}');
    assert.deepEqual(second.args, { query: '${user_input}', tier: '${inputs.tier}', from: '${first.output}', who: '${triage.output}' });
    const warned = messages(r.warnings).filter((w) => /is read as the run input's field/.test(w));
    assert.deepEqual(
      warned.map((w) => /"(\w+)" is not a step/.exec(w)?.[1]),
      ['ticket', 'tier', 'tier'],
      'one warning per name and step, naming it',
    );
    has(warned, /list it under the workflow's inputs to say so/);
    // ${user_query} undeclared is the run input, as LangSwarm's loader reads it.
    has(messages(r.warnings), /\$\{user_query\}: read as the run input, \$\{user_input\}/);
    // Run: the keywords come from the run input, as LangSwarm's run_workflow(..., tier=...) gives them.
    const input = JSON.stringify({ ticket: 7, tier: 'gold' });
    const rec = await runExecution({ document: doc, workflow: 'support', input, runner: new LocalStepRunner(new TestExecutor(), 'n'), mode: 'sync', coordinator: 'n' });
    assert.equal(rec.status, 'completed', JSON.stringify(rec.error));
    const said = `triage: Ticket 7 (gold): ${input}`;
    assert.deepEqual(rec.output, { query: input, tier: 'gold', from: said, who: said });
    // Declared, it is quiet.
    const declared = validateWorkflowText('workflows: {w: {inputs: [user_query], steps: [{id: a, tool: echo, args: {q: "${user_query}"}, output: {to: user}}]}}');
    assert.deepEqual((valid(declared).workflows.w?.steps[0] as ToolStep).args, { q: '${inputs.user_query}' });
    assert.ok(!messages(declared.warnings).some((w) => /run input's field/.test(w)), messages(declared.warnings).join('\n'));
    // The context's own fields are never keywords: ${context.idempotency_key} stays the attempt's key, quietly.
    const keyed = validateWorkflowText('workflows: {w: [{id: a, tool: echo, args: {k: "${context.idempotency_key}", t: "key ${context.idempotency_key}"}, output: {to: user}}]}');
    assert.deepEqual((valid(keyed).workflows.w?.steps[0] as ToolStep).args, { k: '${context.idempotency_key}', t: 'key ${context.idempotency_key}' });
    assert.deepEqual(messages(keyed.warnings), []);
    // A near miss of a known name is a typo, and `X.output` of no step is a step reference: neither is read from the input.
    const typo = validateWorkflowText('workflows: {w: [{id: a, tool: echo, args: {q: "${user_inpt}"}, output: {to: user}}]}');
    has(messages(typo.errors), /\$\{user_inpt\}: "user_inpt" is not a variable here.*did you mean "user_input"/);
    // A name with fields is not a keyword: the check refuses it.
    has(messages(validateWorkflowText('workflows: {w: [{id: a, tool: echo, args: {q: "${process.env.HOME}"}, output: {to: user}}]}').errors), /\$\{process\.env\.HOME\}: "process" is not a variable here/);
    const missing = validateWorkflowText('workflows: {w: [{id: a, tool: echo, args: {q: "${nothere.output}"}, output: {to: user}}]}');
    has(messages([...missing.errors, ...missing.warnings]), /no step "nothere"/);
    // A bare step id is that step's output (LangSwarm's YAML loader), never a run keyword.
    const bare = validateWorkflowText('workflows: {w: [{id: a, tool: echo, args: {}, output: {to: b}}, {id: b, tool: echo, args: {q: "${a}"}, output: {to: user}}]}');
    assert.deepEqual((valid(bare).workflows.w?.steps[1] as ToolStep).args, { q: '${a.output}' });
    assert.deepEqual(messages(bare.warnings), []);
  });

  test('fan_key / is_fan_in are warnings; navigation, rollback_to, no_mcp name the wfmesh way', () => {
    const r = validateWorkflowText(`
workflows:
  w:
    - {id: a, tool: echo, output: {to: [b, c]}, fan_key: f}
    - {id: b, tool: echo, output: {to: d}, fan_key: f}
    - {id: c, tool: echo, output: {to: d}, fan_key: f}
    - {id: d, tool: echo, is_fan_in: true, fan_key: f, output: {to: user}}
    - {id: e, agent: x, input: hi, navigation: {steps: [a]}}
    - {id: f, tool: echo, rollback_to: a}
    - {id: g, no_mcp: {tools: [x]}}
`);
    const errs = messages(r.errors);
    has(errs, /steps\[4\]\.navigation: `navigation` .* route on its reply with output\.to/);
    has(errs, /steps\[5\]\.rollback_to: `rollback_to` is not supported: route back with output\.to and bound the cycle with max_visits/);
    has(errs, /steps\[6\]\.no_mcp: `no_mcp` .* give the agent `tools:`/);
    has(messages(r.warnings), /steps\[3\]\.is_fan_in: `is_fan_in` is not needed/);
    assert.ok(!errs.some((e) => /never reached|unknown step|no agents/.test(e)), errs.join('\n'));
  });

  test('the V1 loop: a step id as body moves into the loop; ${context.item} is the item; output.collect a warning', () => {
    const r = validateWorkflowText(read('v1-loop.yaml'));
    const steps = valid(r).workflows.describe_each?.steps ?? [];
    assert.deepEqual(steps.map((s) => s.id), ['each_item', 'report']);
    const loop = steps[0];
    assert.ok(loop?.kind === 'loop' && 'steps' in loop.loop.body);
    assert.equal((loop.loop.body.steps[0] as AgentStep).input, 'Item: ${item}');
    has(messages(r.warnings), /output\.collect: output\.collect \(LangSwarm V1 loops\) is not needed/);
  });

  test('text workflows: a -> b -> user, parallel stages and a choice', () => {
    const doc = valid(validateWorkflowText(read('text-workflows.yaml')));
    const [choice, parallel, chain] = Object.values(doc.workflows);
    assert.deepEqual(choice?.steps[0]?.routes, [{ kind: 'if', if: "'${step_1_router.output}' contains 'technical'", then: ['step_2_technical'], else: ['step_3_billing'] }]);
    assert.deepEqual(parallel?.steps.map((s) => s.depends_on), [[], [], ['step_1_technical', 'step_2_billing']]);
    assert.deepEqual((chain?.steps as AgentStep[]).map((s) => s.input), ['${user_input}', '${step_1_technical.output}']);
    has(messages(validateWorkflowText('agents: [a]\nworkflows: ["a -> (b | c | d) -> user"]').errors), /a choice is between two agents/);
  });
});

describe('conditions mean what LangSwarm means', () => {
  const scope = (output: unknown, onMissing?: VariableScope['onMissing']): VariableScope => ({
    input: 'x',
    step: (id) => (id === 'classify' ? { status: 'completed', output } : undefined),
    ...(onMissing && { onMissing }),
  });
  test('quoted variables are substituted as text before comparing', () => {
    const cond = "'${context.step_outputs.classify}' == 'bug'";
    assert.equal(evaluateCondition(cond, scope('bug')), true);
    assert.equal(evaluateCondition(cond, scope('question')), false);
    assert.equal(evaluateCondition("'${classify.output.n}' == '3'", scope({ n: 3 })), true);
  });
  test('a missing field or a plain-text reply takes else, and the scope is told which field', () => {
    const missing: string[] = [];
    assert.equal(evaluateCondition("'${classify.output.kind}' == 'bug'", scope('plain text', (v, why) => missing.push(`${v}: ${why}`))), false);
    assert.deepEqual(missing, ['${classify.output.kind}: classify.output is the text "plain text", so it has no field "kind"']);
  });
  test('reading a step that may be skipped is flagged at validation, with the fix', () => {
    const r = validateWorkflowText(`
agents: [{id: a, model: m}]
workflows:
  w:
    - {id: c, agent: a, input: x, output: {to: [{condition: {if: "'\${c.output}' == 'y'", then: d, else: e}}]}}
    - {id: d, agent: a, input: x, output: {to: e}}
    - {id: e, agent: a, input: "\${d.output}", output: {to: user}}
`);
    assert.equal(r.valid, true);
    has(messages(r.warnings), /^line 7 .*steps\[2\]\.input: \$\{d\.output\}: step "d" may be skipped \(a condition can route around it\) .* read it only on the branch that runs "d"/);
    // On the branch itself, no warning.
    const ok = validateWorkflowText(read('run-variables.yaml'));
    assert.ok(!messages(ok.warnings).some((w) => /may be skipped/.test(w)));
  });
});

describe('a bad workflow does not block its siblings', () => {
  test('--workflow good_one: the stdio sibling is a warning', () => {
    assert.equal(validateWorkflowText(read('mixed.yaml'), { strict: true }).valid, false);
    const r = validateWorkflowText(read('mixed.yaml'), { workflow: 'good_one', strict: true });
    assert.deepEqual(messages(r.errors), []);
    has(messages(r.warnings), /\(workflow "uses_stdio" is not run\) stdio:\/\/github_mcp/);
  });
});

describe('more LangSwarm spellings', () => {
  test('fan-in: args.steps on an is_fan_in step is a warning; branches fanned out together are never "may be skipped"', () => {
    const r = validateWorkflowText(read('fan-in.yaml'));
    const doc = valid(r);
    has(messages(r.warnings), /^line 37 .*steps\[3\]\.args: args\.steps of a fan-in is not needed/);
    assert.ok(!messages(r.warnings).some((w) => /may be skipped/.test(w)), messages(r.warnings).join('\n'));
    const barrier = doc.workflows.barrier?.steps.find((s) => s.id === 'both_done') as ToolStep;
    assert.deepEqual([barrier.tool, barrier.method, barrier.args, barrier.fault], ['transform', 'template', { template: 'ready' }, undefined]);
    // A branch that a condition may route around is still flagged.
    const cond = validateWorkflowText(`
workflows:
  w:
    - {id: a, tool: echo, args: {}, output: {to: [{condition: {if: "1 == 1", then: b, else: c}}]}}
    - {id: b, tool: echo, args: {}, output: {to: c}}
    - {id: c, tool: echo, args: {b: "\${b.output}"}, output: {to: user}}
`);
    has(messages(cond.warnings), /\$\{b\.output\}: step "b" may be skipped/);
  });

  test('text workflows as {id, simple}, {id, workflow}, and without the final -> user', () => {
    const doc = valid(validateWorkflowText(read('text-entries.yaml')));
    assert.deepEqual(Object.keys(doc.workflows), ['sketch_and_critique', 'sketch_only', 'simple_workflow_3']);
    assert.deepEqual(doc.workflows.sketch_and_critique?.steps.map((s) => s.id), ['step_1_sketcher', 'step_2_critic']);
    assert.deepEqual(doc.workflows.simple_workflow_3?.steps.map((s) => (s as AgentStep).input), ['${user_input}', '${step_1_sketcher.output}']);
    has(messages(validateWorkflowText('agents: [a]\nworkflows: ["user -> a"]').errors), /user comes last/);
  });

  test('mcp_call payload arguments under `args`, or as JSON text', () => {
    const steps = valid(validateWorkflowText(read('mcp-call-payloads.yaml'))).workflows.entries?.steps as ToolStep[];
    assert.deepEqual(steps[0]?.args, { entry: '${context.user_input}' });
    assert.deepEqual(steps[1]?.args, { entry: 'opening balance', amount: 10 });
  });

  test('a V1 loop with max takes the first items of a longer list', () => {
    const loop = valid(validateWorkflowText(read('v1-loop-max.yaml'))).workflows.first_two?.steps[0];
    assert.ok(loop?.kind === 'loop');
    assert.deepEqual([loop.loop.max, loop.loop.truncate_to_max], [2, true]);
  });

  test('agent base_url: checked at validation; the environment form of the node endpoint is the node endpoint', () => {
    const r = validateWorkflowText(`
agents:
  local: {model: m, base_url: "env:OPENAI_BASE_URL"}
  braced: {model: m, base_url: "\${OPENAI_BASE_URL}"}
  other: {model: m, base_url: "env:MY_LLM"}
  typo: {model: m, base_url: "localhost:8000/v1"}
workflows: {w: [{agent: local, input: x}]}
`);
    const errs = messages(r.errors);
    has(errs, /^line 5 agents\.other\.base_url: base_url env:MY_LLM: a workflow does not read the node's environment/);
    has(errs, /^line 6 agents\.typo\.base_url: base_url is an http\(s\) URL/);
    has(messages(r.warnings), /^line 3 agents\.local\.base_url: base_url env:OPENAI_BASE_URL is the node's endpoint/);
    const ok = valid(validateWorkflowText('agents:\n  a: {model: m, base_url: "${OPENAI_BASE_URL}"}\n  b: {model: m, base_url: "http://llm.lan:8000/v1"}\nworkflows: {w: [{agent: a, input: x}, {agent: b, input: x}]}'));
    assert.deepEqual([ok.agents.a?.base_url, ok.agents.b?.base_url], [undefined, 'http://llm.lan:8000/v1']);
  });

  test('one problem, one error: a step never reached, a YAML syntax error', () => {
    const unreached = messages(validateWorkflowText(`
agents: [{id: a, model: m}]
workflows:
  w:
    - {id: first, agent: a, input: x, output: {to: last}}
    - {id: optional, condition: "\${first.output} == 'y'", agent: a, input: "\${first.output}", output: {to: last}}
    - {id: last, agent: a, input: "\${first.output}", output: {to: user}}
`).errors);
    assert.deepEqual(unreached, ['line 6 workflows.w.steps[1]: step "optional" is never reached: no step routes to it or lists it in depends_on (its condition only decides whether it runs once reached: route to it with output.to)']);
    const yaml = messages(validateWorkflowText('workflows:\n  w:\n    - {id: a, tool: echo, args: {x: ${user_input}}}\n    - {id: b, tool: echo}\n').errors);
    assert.equal(yaml.length, 1, yaml.join('\n'));
    has(yaml, /^line 3: YAML: .*\(and \d+ more YAML errors after it, most of them caused by this one\)/);
  });
});

describe("the spellings of LangSwarm's current loader", () => {
  test('parameters or params are a tool step\'s args, input_data an agent\'s input, dependencies depends_on; both spellings at once is an error', () => {
    const r = validateWorkflowText(`
agents: [{id: writer, model: gpt-4o-mini}]
workflows:
  report:
    execution_mode: parallel
    input_schema: {type: string}
    steps:
      - {id: fetch, tool: echo, parameters: {url: "\${user_input}"}}
      - {id: count, tool: transform, method: length, params: {value: "\${fetch.output.url}"}, dependencies: fetch}
      - {id: write, agent: writer, input_data: "Write about \${fetch.output.url}", dependencies: [fetch, count], output: {to: user}}
`);
    const doc = valid(r);
    const [fetch, count, write] = doc.workflows.report?.steps as [ToolStep, ToolStep, AgentStep];
    assert.deepEqual(fetch.args, { url: '${user_input}' });
    assert.deepEqual([count.args, count.depends_on], [{ value: '${fetch.output.url}' }, ['fetch']]);
    assert.deepEqual([write.input, write.depends_on], ['Write about ${fetch.output.url}', ['fetch', 'count']]);
    has(messages(r.warnings), /report\.execution_mode: workflow key "execution_mode" is ignored/);
    const both = validateWorkflowText('workflows: {w: [{id: a, tool: echo, args: {x: 1}, params: {x: 2}, output: {to: user}}]}');
    has(messages(both.errors), /steps\[0\]\.params: both "params" and "args": they are the same setting, keep one/);
    has(messages(validateWorkflowText('workflows: {w: {continue_on_error: true, steps: [{id: a, tool: echo, args: {}}]}}').errors), /continue_on_error belongs to a step/);
  });

  test('steps as a list of agent names are a chain, as the text workflow is; names mixed with step mappings are an error', () => {
    const doc = valid(validateWorkflowText('agents: [{id: reader, model: m}, {id: critic, model: m}]\nworkflows:\n  review:\n    name: Review\n    steps: [reader, critic]\n'));
    const steps = doc.workflows.review?.steps as AgentStep[];
    assert.deepEqual(steps.map((s) => [s.id, s.agent, s.input]), [['step_1_reader', 'reader', '${user_input}'], ['step_2_critic', 'critic', '${step_1_reader.output}']]);
    assert.deepEqual(steps[1]?.routes, [{ kind: 'goto', targets: ['user'] }]);
    const mixed = validateWorkflowText('agents: [{id: reader, model: m}]\nworkflows: {w: {steps: [reader, {id: b, tool: echo, args: {}}]}}');
    has(messages(mixed.errors), /w\.steps: steps are either all agent names \(a chain\) or all step mappings, not both/);
  });

  test('${STEP} is that step\'s output and ${STEP.field} a field of it, in inputs and conditions; ${STEP.output} and the reserved names are left alone', async () => {
    const r = validateWorkflowText(`
agents: [{id: extractor, model: m}, {id: checker, model: m}, {id: analyst, model: m}, {id: rejecter, model: m}]
workflows:
  pipeline:
    steps:
      - {id: extract, agent: extractor, input: "From: \${input}"}
      - {id: check, agent: checker, input: "\${extract}", depends_on: [extract]}
      - {id: analyse, agent: analyst, input: "\${check.output}", depends_on: [check], condition: "\${check.ok} == true"}
      - {id: reject, agent: rejecter, input: "Rejected: \${check.why}", depends_on: [check], condition: "\${check.ok} == false"}
`);
    assert.deepEqual(messages(r.warnings), []);
    const doc = valid(r);
    const steps = doc.workflows.pipeline?.steps as AgentStep[];
    assert.deepEqual(steps.map((s) => [s.input, s.condition]), [
      ['From: ${input}', undefined],
      ['${extract.output}', undefined],
      ['${check.output}', '${check.output.ok} == true'],
      ['Rejected: ${check.output.why}', '${check.output.ok} == false'],
    ]);
    for (const ok of [true, false]) {
      const runner = {
        run: async (c: StepCall) => {
          const task = c.task as { agent: { id: string }; input: unknown };
          return { node: 'n', output: task.agent.id === 'checker' ? { ok, why: 'too short' } : `${task.agent.id}: ${JSON.stringify(task.input)}` };
        },
      };
      const rec = await runExecution({ document: doc, input: 'the data', runner, mode: 'sync', coordinator: 'n' });
      assert.equal(rec.status, 'completed', JSON.stringify(rec.error));
      assert.deepEqual(rec.steps.map((s) => [s.id, s.status]), [['extract', 'completed'], ['check', 'completed'], ['analyse', ok ? 'completed' : 'skipped'], ['reject', ok ? 'skipped' : 'completed']]);
      assert.equal(rec.output, ok ? 'analyst: {"ok":true,"why":"too short"}' : 'rejecter: "Rejected: too short"');
    }
  });

  test("V2's condition and transform steps are errors that name the wfmesh way, once per key, and nothing cascades from them", () => {
    const r = validateWorkflowText(`
workflows:
  w:
    steps:
      - {id: check, condition: "\${user_input} != ''", true_step: get, false_step: done}
      - {id: get, tool: echo, args: {m: "\${user_input}"}, dependencies: [check]}
      - {id: shape, transform: to_json, input_source: get}
      - {id: lam, transformer: "lambda x, ctx: x"}
      - {id: done, tool: echo, args: {}, if_true: get, output: {to: user}}
`);
    const errs = messages(r.errors);
    has(errs, /steps\[0\]\.true_step: a condition step \(true_step\/false_step, LangSwarm V2\) is not supported: route from the step before it with output\.to: \{condition: \{if/);
    has(errs, /steps\[0\]\.false_step: a condition step/);
    has(errs, /steps\[2\]\.transform: a transform step \(transform\/transformer, LangSwarm V2, a Python expression\) is not supported: use a tool step of type transform/);
    has(errs, /steps\[3\]\.transformer: a transform step/);
    has(errs, /steps\[4\]\.if_true: a condition step/);
    assert.equal(errs.length, 5, errs.join('\n'));
  });
});
