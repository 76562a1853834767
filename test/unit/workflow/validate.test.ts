import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_TOOL_TYPES as EXECUTOR_TOOL_TYPES } from '../../../src/executor/index.js';
import { MeshError } from '../../../src/protocol/errors.js';
import { BUILTIN_TOOL_TYPES, formatIssue, loadWorkflowDocument, stepGraph, validateWorkflowText, type AgentStep, type LoopStep, type ToolStep } from '../../../src/workflow/index.js';

const AGENTS = `
agents:
  - id: summarizer
    model: gpt-4o-mini
    system_prompt: "You are a helpful summarizer."
  - id: reviewer
    model: gpt-4o-mini
    requires: {region: eu-west}
`;

/** Asserts invalid (strict: faults are errors too) and returns "line path: message" strings. */
function errorsOf(yaml: string, opts = {}): string[] {
  const r = validateWorkflowText(yaml, { strict: true, ...opts });
  assert.equal(r.valid, false, 'expected errors');
  assert.equal(r.document, undefined);
  return r.errors.map((e) => `${e.line ?? '-'} ${e.path}: ${e.message}`);
}

function assertHas(errors: string[], re: RegExp): void {
  assert.ok(errors.some((e) => re.test(e)), `no error matches ${re}:\n${errors.join('\n')}`);
}

describe('accepted forms', () => {
  test('LangSwarm V1 in the documentation style', () => {
    const doc = loadWorkflowDocument(`${AGENTS}
workflows:
  main_workflow:
    - id: main
      steps:
        - agent: summarizer
          input: \${context.user_input}
          output: {to: user}
`);
    assert.equal(doc.defaultWorkflow, 'main');
    const step = doc.workflows.main?.steps[0] as AgentStep;
    assert.equal(step.kind, 'agent');
    assert.equal(step.id, 'summarizer', 'an unnamed step takes its agent name');
    assert.deepEqual(step.routes, [{ kind: 'goto', targets: ['user'] }]);
    assert.equal(doc.agents.summarizer?.system_prompt, 'You are a helpful summarizer.');
  });

  test('the map form, a bare list of steps, and several V1 workflows', () => {
    const doc = loadWorkflowDocument(`
workflows:
  review:
    description: d
    steps:
      - {id: a, tool: echo, args: {x: 1}}
  quick:
    - {tool: echo, args: {}}
  main_workflow:
    - id: one
      steps: [{tool: echo}]
    - id: two
      steps: [{tool: sleep, args: {ms: 1}}]
`);
    assert.deepEqual(Object.keys(doc.workflows), ['review', 'quick', 'one', 'two']);
    assert.equal(doc.defaultWorkflow, 'review');
    assert.equal(doc.workflows.review?.description, 'd');
    assert.equal(doc.workflows.quick?.steps[0]?.id, 'echo');
  });

  test('generated ids stay unique; ${agent.output} shorthand maps to the step', () => {
    const doc = loadWorkflowDocument(`${AGENTS}
workflows:
  w:
    steps:
      - {tool: echo, args: {}}
      - {tool: echo, args: {}}
      - {id: first_review, agent: reviewer, input: "\${echo.output}"}
      - {agent: summarizer, input: "\${reviewer.output} \${echo_2.output}", output: {to: user}}
`);
    const wf = doc.workflows.w;
    assert.deepEqual(wf?.steps.map((s) => s.id), ['echo', 'echo_2', 'first_review', 'summarizer']);
    assert.equal(wf?.aliases.reviewer, 'first_review');
  });

  test('output.to may name an agent (LangSwarm), meaning the one step that uses it', () => {
    const doc = loadWorkflowDocument(`${AGENTS}
workflows:
  w:
    steps:
      - {id: draft, agent: summarizer, input: x, output: {to: reviewer}}
      - {id: review_it, agent: reviewer, input: "\${draft.output}", output: {to: user}}
`);
    assert.deepEqual(doc.workflows.w?.steps[0]?.routes, [{ kind: 'goto', targets: ['review_it'] }]);
  });

  test('routes: names, lists, conditions in all three forms', () => {
    const doc = loadWorkflowDocument(`
workflows:
  w:
    steps:
      - id: a
        tool: echo
        args: {level: high}
        output:
          to:
            - b
            - c
            - condition: {if: "\${a.output.level} == 'high'", then: d, else: [e, user]}
            - condition: {switch: "\${a.output.level}", cases: {high: d, low: e}, default: user}
            - condition: {exists: "\${a.output.level}", then: d}
      - {id: b, tool: echo, output: {to: user}}
      - {id: c, tool: echo, output: {to: user}}
      - {id: d, tool: echo, output: {to: user}}
      - {id: e, tool: echo, output: {to: user}}
`);
    const routes = doc.workflows.w?.steps[0]?.routes;
    assert.deepEqual(routes, [
      { kind: 'goto', targets: ['b', 'c'] },
      { kind: 'if', if: "${a.output.level} == 'high'", then: ['d'], else: ['e', 'user'] },
      { kind: 'switch', switch: '${a.output.level}', cases: { high: ['d'], low: ['e'] }, default: ['user'] },
      { kind: 'if', if: '${a.output.level} exists', then: ['d'], else: [] },
    ]);
  });

  test('retry, timeout, requires, depends_on, loops', () => {
    const doc = loadWorkflowDocument(`${AGENTS}
workflows:
  w:
    steps:
      - {id: list, tool: echo, args: {items: [1, 2]}, retry: 3, timeout: 500ms}
      - id: each
        depends_on: list
        loop:
          for_each: \${list.output.items}
          var: n
          max: 10
          concurrency: 2
          body:
            - {id: sq, tool: echo, args: {n: "\${n}", i: "\${loop.index}"}, retry: {count: 2, backoff_ms: 10}}
      - {id: gpu, depends_on: [each], agent: summarizer, input: x, timeout: 2m, requires: {gpu: {min_vram_mib: 40000}}}
`);
    const [list, each, gpu] = doc.workflows.w?.steps ?? [];
    assert.deepEqual((list as ToolStep).retry, { count: 3, backoff_ms: 200, max_backoff_ms: 10_000 });
    assert.equal(list?.timeout_ms, 500);
    assert.equal(gpu?.timeout_ms, 120_000);
    assert.deepEqual(gpu?.requires, { gpu: { min_vram_mib: 40000 } });
    const loop = (each as LoopStep).loop;
    assert.equal(loop.var, 'n');
    assert.equal(loop.concurrency, 2);
    assert.ok('steps' in loop.body && loop.body.steps[0]?.retry?.backoff_ms === 10);
    assert.equal(stepGraph(doc.workflows.w?.steps ?? []).mode, 'graph');
  });
});

describe('every problem at once, with path and line', () => {
  test('unknown agent and tool, dangling and duplicate ids, bad types', () => {
    const errors = errorsOf(`${AGENTS}
workflows:
  main_workflow:
    - id: main
      steps:
        - id: a
          agent: summariser
          input: x
          output: {to: b}
        - id: b
          tool: echoo
          args: {}
          output: {to: [nowhere, user]}
        - id: b
          tool: echo
          depends_on: [ghost]
          retry: many
          timeout: soon
          continue_on_error: "yes"
`);
    assertHas(errors, /^15 workflows\.main_workflow\[0\]\.steps\[0\]\.agent: unknown agent "summariser" \(did you mean "summarizer"\?\)/);
    assertHas(errors, /^19 workflows\.main_workflow\[0\]\.steps\[1\]\.tool: unknown tool "echoo" \(did you mean "echo"\?\)/);
    assertHas(errors, /^21 .*steps\[1\]\.output: output\.to names unknown step "nowhere"/);
    assertHas(errors, /^22 .*steps\[2\]\.id: duplicate step id "b" \(also at workflows\.main_workflow\[0\]\.steps\[1\]\)/);
    assertHas(errors, /^24 .*steps\[2\]\.depends_on: depends_on names unknown step "ghost"/);
    assertHas(errors, /^25 .*steps\[2\]\.retry: retry is a count/);
    assertHas(errors, /^26 .*steps\[2\]\.timeout: a timeout is a duration/);
    assertHas(errors, /^27 .*steps\[2\]\.continue_on_error: continue_on_error is true or false/);
    assert.ok(errors.length >= 8);
  });

  test('unreachable steps and unbounded cycles', () => {
    const errors = errorsOf(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, output: {to: b}}
      - {id: b, tool: echo, output: {to: {condition: {if: "\${b.output.again} == true", then: a, else: user}}}}
      - {id: orphan, tool: echo}
`);
    assertHas(errors, /^7 workflows\.w\.steps\[2\]: step "orphan" is never reached/);
    assertHas(errors, /^6 workflows\.w\.steps\[1\]\.output: cycle a → b → a has no loop bound/);
    // With a bound the cycle is accepted.
    const ok = validateWorkflowText(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, max_visits: 3, args: {again: true}, output: {to: b}}
      - {id: b, tool: echo, args: "\${a.output}", output: {to: {condition: {if: "\${b.output.again} == true", then: a, else: user}}}}
`);
    assert.deepEqual(ok.errors, []);
  });

  test('variables that cannot resolve, statically', () => {
    const errors = errorsOf(`${AGENTS}
workflows:
  w:
    steps:
      - {id: first, tool: echo, args: {a: "\${later.output}", b: "\${nope.output}", c: "\${env.SECRET}", d: "\${first}", e: "\${context.config.path}"}}
      - {id: later, tool: echo, args: "\${loop.index} \${sq.output} \${summarizer.output}"}
      - id: each
        loop:
          for_each: [1, 2]
          body:
            - {id: sq, tool: echo, args: "\${item} \${later.output}"}
      - {tool: echo, args: "\${ unterminated", output: {to: user}}
`);
    assertHas(errors, /steps\[0\]\.args: \$\{later\.output\}: step "later" is not upstream of step "first"/);
    assertHas(errors, /steps\[0\]\.args: \$\{nope\.output\}: no step "nope"/);
    assertHas(errors, /steps\[0\]\.args: \$\{env\.SECRET\}: environment variable SECRET is not allowed here \(allowed: none\)/);
    // ${first} is the step's own output (LangSwarm's ${STEP}), which it cannot read.
    assertHas(errors, /steps\[0\]\.args: \$\{first\.output\}: step "first" is not upstream of step "first"/);
    assertHas(errors, /steps\[0\]\.args: \$\{context\.config\.path\}: context has user_input, step_outputs and idempotency_key only/);
    assertHas(errors, /steps\[1\]\.args: \$\{loop\.index\}: \$\{loop\.\*\} is only defined inside a loop body/);
    assertHas(errors, /steps\[1\]\.args: \$\{sq\.output\}: step "sq" is inside the body of loop "each"; outside it, use \$\{each\.output\}/);
    assertHas(errors, /steps\[1\]\.args: \$\{summarizer\.output\}: no step "summarizer"/);
    assertHas(errors, /steps\[3\]\.args: unterminated variable/);
    // ${env.NAME} is fine once allowed; the body sees outer upstream steps.
    const ok = validateWorkflowText(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: "\${env.REGION}"}
      - {loop: {for_each: [1], body: [{tool: echo, args: "\${a.output} \${item} \${loop.item}"}]}}
`, { allowedEnv: ['REGION'] });
    assert.deepEqual(ok.errors, []);
  });

  test('bad requires blocks name the field', () => {
    const errors = errorsOf(`
agents:
  - {id: x, model: m, requires: {gpu: yes_please}}
workflows:
  w:
    steps:
      - {id: a, agent: x, input: hi, requires: {region: [], min_cpus: 0, colour: blue}}
`);
    assertHas(errors, /^3 agents\[0\]\.requires\.gpu: bad requires/);
    assertHas(errors, /^7 workflows\.w\.steps\[0\]\.requires\.region: bad requires/);
    assertHas(errors, /^7 workflows\.w\.steps\[0\]\.requires\.min_cpus: bad requires/);
    assertHas(errors, /^7 workflows\.w\.steps\[0\]\.requires: bad requires: Unrecognized key: "colour"|colour/);
  });

  test('step shape: kinds, unknown keys, unsupported LangSwarm features', () => {
    const errors = errorsOf(`
workflows:
  w:
    steps:
      - {id: a}
      - {id: b, tool: echo, agent: x, input: y}
      - {id: c, tool: echo, input: y}
      - {id: d, function: my.module.fn, args: {}}
      - {id: user, tool: echo}
      - {id: "bad id", tool: echo}
      - {id: f, agent: x}
      - {id: g, tool: echo, depends-on: [a]}
      - {id: h, loop: {body: []}}
      - {id: i, invoke_workflow: w, retry: 2}
      - {id: j, tool: echo, args: {}, intent: "find the slow queries", output_to: a}
`);
    assertHas(errors, /steps\[0\]: a step needs exactly one of agent, tool, invoke_workflow or loop/);
    assertHas(errors, /steps\[10\]\.intent: unknown step key "intent" \(an intent-based tool call goes through an agent: list the tool under the agent's tools/);
    assertHas(errors, /steps\[10\]\.output_to: unknown step key "output_to" \(write output: \{to: STEP\}\)/);
    assertHas(errors, /steps\[1\]: a step has exactly one of .* not agent and tool/);
    assertHas(errors, /steps\[2\]\.input: unknown step key "input" \(tool steps take `args`\)/);
    assertHas(errors, /steps\[3\]\.function: Python function "my\.module\.fn" cannot run in wfmesh/);
    assertHas(errors, /steps\[4\]\.id: "user" is reserved/);
    assertHas(errors, /steps\[5\]\.id: a step id uses letters/);
    assertHas(errors, /steps\[7\]\.depends-on: unknown step key "depends-on" \(did you mean depends_on\?\)/);
    assertHas(errors, /steps\[8\]\.loop: a loop needs for_each \(a list\) or max/);
    assertHas(errors, /steps\[9\]\.retry: retry applies to agent and tool steps/);
    assertHas(errors, /steps\[9\]: workflows invoke each other in a cycle: w → w/);
  });

  test('document-level problems', () => {
    assertHas(errorsOf(''), /the document is empty/);
    assertHas(errorsOf('- a\n- b'), /must be a mapping/);
    assertHas(errorsOf('agents: []'), /no workflows/);
    assertHas(errorsOf('workflows: {w: {steps: []}}'), /at least one step/);
    assertHas(errorsOf('workflows:\n  w:\n    steps: [\n'), /^\d+ : YAML:/);
    assertHas(validateWorkflowText('a: 1\na: 2\nworkflows: {w: [{tool: echo}]}').warnings.map(formatIssue), /key "a" appears twice in this mapping: the last one is used/);
    assertHas(errorsOf('tools: [{id: t, type: teleport}]\nworkflows: {w: [{tool: t}]}'), /tool "t" has type "teleport", which wfmesh does not have/);
    assertHas(errorsOf('workflows: {w: [{tool: echo}]}\ntools: [{id: echo, type: echo}, {id: echo, type: echo}]'), /duplicate tool id "echo"/);
  });

  test('loadWorkflowDocument throws WORKFLOW_INVALID listing every error', () => {
    assert.throws(
      () => loadWorkflowDocument('workflows: {w: [{tool: nope}, {tool: echo, output: {to: gone}}]}', { strict: true }),
      (err: unknown) => {
        assert.ok(err instanceof MeshError);
        assert.equal(err.code, 'WORKFLOW_INVALID');
        assert.match(err.message, /unknown tool "nope"/);
        assert.match(err.message, /unknown step "gone"/);
        assert.equal((err.details as unknown[]).length, 2);
        return true;
      },
    );
  });

  test('warnings do not make a document invalid', () => {
    const r = validateWorkflowText(`
version: 1
agents: [{id: a, model: m, type: openai, memory: true}]
workflows:
  w:
    async: true
    steps: [{agent: a, input: hi}]
`);
    assert.equal(r.valid, true);
    assert.deepEqual(r.warnings.map((w) => w.path), ['agents[0].memory', 'workflows.w.async']);
  });
});

test('the model knows the same built-in tool types as the executors', () => {
  assert.deepEqual([...BUILTIN_TOOL_TYPES].sort(), [...EXECUTOR_TOOL_TYPES].sort());
});

describe('security of names', () => {
  test('prototype names are refused as ids and keys', () => {
    const errors = errorsOf(`
agents: [{id: __proto__, model: m}]
tools: [{id: constructor, type: echo}]
workflows:
  __proto__: {steps: [{tool: echo}]}
  w: {steps: [{id: prototype, tool: echo}]}
`);
    assertHas(errors, /agents\[0\]\.id: an agent needs an id/);
    assertHas(errors, /tools\[0\]\.id: a tool needs an id/);
    assertHas(errors, /workflows\.__proto__: workflow name "__proto__"/);
    assertHas(errors, /steps\[0\]\.id: a step id uses letters/);
    assert.equal(({} as Record<string, unknown>).model, undefined);
  });

  test('alias bombs and deep nesting are refused', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 9; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
    assertHas(errorsOf(`${bomb.join('\n')}\nworkflows: {}`), /YAML: /);
    assertHas(errorsOf(`workflows: ${'['.repeat(100)}${']'.repeat(100)}`), /nests deeper/);
    assertHas(errorsOf(`x: &r [*r]\nworkflows: {}`), /YAML|nests deeper|refers to itself/);
  });
});

test('a workflow written as a bare list of steps reports the line of the step', () => {
  const r = validateWorkflowText('workflows:\n  main:\n    - tool: echo\n      args: {}\n    - tool: nothere\n      args: {}\n');
  const e = r.errors.find((i) => i.path === 'workflows.main.steps[1].tool');
  assert.equal(e?.line, 5);
});
