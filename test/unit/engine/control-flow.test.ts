import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../../src/protocol/errors.js';
import { runExecution, newExecutionId, LocalStepRunner } from '../../../src/engine/index.js';
import { loadWorkflowDocument } from '../../../src/workflow/index.js';
import { row, run, statuses, TestExecutor } from './helpers.js';

describe('sequence and record', () => {
  test('a V1 sequence runs in order; the record has every field', async () => {
    const { record, executor } = await run(`
agents: [{id: summarizer, model: m}]
workflows:
  main_workflow:
    - id: main
      steps:
        - {id: a, tool: echo, args: {tag: a, text: "\${user_input}"}}
        - {id: b, tool: echo, args: {tag: b, prev: "\${a.output.text}"}}
        - {agent: summarizer, input: "\${context.step_outputs.b.prev}", output: {to: user}}
`, 'hello');
    assert.equal(record.type, 'wfmesh.execution.v1');
    assert.equal(record.status, 'completed');
    assert.equal(record.workflow, 'main');
    assert.equal(record.mode, 'sync');
    assert.equal(record.input, 'hello');
    assert.equal(record.output, 'summarizer: hello');
    assert.equal(record.coordinator, 'test-node');
    assert.match(record.execution_id, /^[A-Za-z0-9_-]+$/);
    assert.ok(record.ended_at && record.created_at <= record.ended_at);
    assert.deepEqual(executor.events, ['start a', 'end a', 'start b', 'end b']);
    for (const s of record.steps) {
      assert.equal(s.status, 'completed');
      assert.equal(s.attempts, 1);
      assert.equal(s.node, 'test-node');
      assert.ok(s.started_at && s.ended_at && s.started_at <= s.ended_at);
    }
    assert.deepEqual(row(record, 'b').output, { tag: 'b', prev: 'hello' });
  });

  test('without output.to user the last step that ran gives the output', async () => {
    const { record } = await run('workflows: {w: [{tool: echo, args: {n: 1}}, {tool: echo, args: {n: 2}}]}');
    assert.deepEqual(record.output, { n: 2 });
  });

  test('a step with output.to does not fall through to the next step (LangSwarm fix)', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - id: check
        tool: echo
        args: {ok: true}
        output: {to: [{condition: {if: "\${check.output.ok} == true", then: format_response, else: handle_error}}]}
      - {id: format_response, tool: echo, args: {done: true}, output: {to: user}}
      - {id: handle_error, tool: echo, args: {error: true}, output: {to: user}}
`);
    assert.deepEqual(statuses(record), { check: 'completed', format_response: 'completed', handle_error: 'skipped' });
    assert.deepEqual(record.output, { done: true });
  });

  test('unknown workflow is a MeshError; execution ids are url-safe and distinct', async () => {
    const document = loadWorkflowDocument('workflows: {w: [{tool: echo}]}');
    await assert.rejects(
      runExecution({ document, workflow: 'nope', input: '', runner: new LocalStepRunner(new TestExecutor(), 'n'), mode: 'sync', coordinator: 'n' }),
      (err: unknown) => err instanceof MeshError && err.code === 'WORKFLOW_NOT_FOUND',
    );
    // 600: past two refills of the id's random pool (256 ids each).
    const ids = new Set(Array.from({ length: 600 }, newExecutionId));
    assert.equal(ids.size, 600);
    const randomParts = new Set([...ids].map((id) => id.slice(id.indexOf('-') + 1)));
    assert.equal(randomParts.size, 600, 'no random part repeats, across refills too');
    for (const id of ids) assert.match(id, /^[0-9a-z]{9}-[A-Za-z0-9_-]{12}$/);
  });
});

describe('fan-out and fan-in', () => {
  test('branches run concurrently; depends_on waits for all of them', async () => {
    const { record, executor } = await run(`
workflows:
  w:
    steps:
      - {id: split, tool: echo, args: {tag: split}, output: {to: [left, right]}}
      - {id: left, tool: sleep, args: {tag: left, ms: 30}}
      - {id: right, tool: sleep, args: {tag: right, ms: 5}}
      - {id: join, depends_on: [left, right], tool: echo, args: {tag: join, l: "\${left.output}", r: "\${right.output}"}, output: {to: user}}
`);
    assert.equal(record.status, 'completed');
    const ev = executor.events;
    assert.ok(ev.indexOf('start right') < ev.indexOf('end left'), 'both branches were in flight together');
    assert.ok(ev.indexOf('start left') < ev.indexOf('end right'));
    assert.ok(ev.indexOf('start join') > ev.indexOf('end left') && ev.indexOf('start join') > ev.indexOf('end right'));
    assert.deepEqual(record.output, { tag: 'join', l: { slept_ms: 30 }, r: { slept_ms: 5 } });
  });

  test('graph mode: steps with no dependency start at once', async () => {
    const { record, executor } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: sleep, args: {tag: a, ms: 10}}
      - {id: b, tool: sleep, args: {tag: b, ms: 10}}
      - {id: c, depends_on: [a, b], tool: echo, args: {tag: c}}
`);
    assert.equal(record.status, 'completed');
    assert.deepEqual(executor.events.slice(0, 2), ['start a', 'start b']);
  });

  test('several steps to user: the output is an object by step id', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {}, output: {to: [b, c]}}
      - {id: b, tool: echo, args: {v: 1}, output: {to: user}}
      - {id: c, tool: echo, args: {v: 2}, output: {to: user}}
`);
    assert.deepEqual(record.output, { b: { v: 1 }, c: { v: 2 } });
  });
});

describe('conditions', () => {
  const triage = (level: string) => `
workflows:
  w:
    steps:
      - {id: classify, tool: echo, args: {level: ${level}, tags: [x]}}
      - id: route
        tool: echo
        args: {}
        output:
          to:
            - condition:
                if: "\${classify.output.level} == 'high' and \${classify.output.tags} contains 'x'"
                then: urgent
                else: normal
      - {id: urgent, tool: echo, args: {path: urgent}, output: {to: done}}
      - {id: normal, tool: echo, args: {path: normal}, output: {to: done}}
      - {id: done, tool: echo, args: {tag: done}, output: {to: user}}
`;

  test('if/then/else takes one branch; the other is skipped; the join still runs', async () => {
    const high = await run(triage('high'));
    assert.deepEqual(statuses(high.record), { classify: 'completed', route: 'completed', urgent: 'completed', normal: 'skipped', done: 'completed' });
    const low = await run(triage('low'));
    assert.deepEqual(statuses(low.record), { classify: 'completed', route: 'completed', urgent: 'skipped', normal: 'completed', done: 'completed' });
  });

  test('switch/cases/default and exists', async () => {
    const yaml = (cat: string) => `
workflows:
  w:
    steps:
      - id: cat
        tool: echo
        args: {category: ${cat}}
        output:
          to:
            - condition: {switch: "\${cat.output.category}", cases: {billing: bill, tech: tech}, default: other}
      - {id: bill, tool: echo, args: {to: bill}, output: {to: user}}
      - {id: tech, tool: echo, args: {to: tech}, output: {to: user}}
      - id: other
        tool: echo
        args: {to: other}
        output: {to: {condition: {exists: "\${cat.output.ticket}", then: user, else: user}}}
`;
    assert.deepEqual((await run(yaml('billing'))).record.output, { to: 'bill' });
    assert.deepEqual((await run(yaml('tech'))).record.output, { to: 'tech' });
    assert.deepEqual((await run(yaml('sales'))).record.output, { to: 'other' });
  });

  test('a condition that reads a missing field takes else, and the row says which (as LangSwarm)', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {x: 1}, output: {to: [{condition: {if: "\${a.output.missing} == 1", then: b, else: c}}]}}
      - {id: b, tool: echo, args: {}, output: {to: user}}
      - {id: c, tool: echo, args: {}, output: {to: user}}
`);
    assert.equal(record.status, 'completed');
    assert.deepEqual(statuses(record), { a: 'completed', b: 'skipped', c: 'completed' });
    assert.match(String(record.steps.find((s) => s.id === 'a')?.warnings?.[0]), /\$\{a\.output\.missing\} did not resolve \(a\.output has no field "missing"; it has x\); the condition was taken as false/);
  });

  test('a condition that cannot be evaluated fails the step, never a quiet else', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {x: [1]}, output: {to: [{condition: {if: "\${a.output.x} > 1", then: b, else: c}}]}}
      - {id: b, tool: echo, args: {}}
      - {id: c, tool: echo, args: {}}
`);
    assert.equal(record.status, 'failed');
    assert.equal(record.error?.step, 'a');
    assert.equal(record.error?.type, 'invalid_args');
    assert.match(record.error?.message ?? '', /cannot order a list of 1 and number 1/);
    assert.deepEqual(statuses(record), { a: 'failed', b: 'skipped', c: 'skipped' });
  });

  test('switch with no matching case and no default fails', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {k: z}, output: {to: {condition: {switch: "\${a.output.k}", cases: {x: b}}}}}
      - {id: b, tool: echo, args: {}}
`);
    assert.equal(record.status, 'failed');
    assert.match(record.error?.message ?? '', /matches no case \(x\) and there is no default/);
  });

  test('a step-level condition skips the step and what only it leads to', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {premium: false}}
      - {id: extra, condition: "\${a.output.premium} == true", tool: echo, args: {}}
      - {id: after_extra, tool: echo, args: {}}
`);
    assert.deepEqual(statuses(record), { a: 'completed', extra: 'skipped', after_extra: 'skipped' });
    assert.equal(record.status, 'completed');
  });
});

describe('loops and invoke_workflow', () => {
  test('for_each with concurrency: rows per iteration, outputs in item order', async () => {
    const { record, executor } = await run(`
workflows:
  w:
    steps:
      - {id: items, tool: echo, args: {list: [300, 50, 100]}}
      - id: each
        loop:
          for_each: \${items.output.list}
          var: ms
          concurrency: 3
          body:
            - {id: wait, tool: sleep, args: {tag: "w\${loop.index}", ms: "\${ms}"}}
            - {id: label, tool: echo, args: {i: "\${loop.index}", ms: "\${wait.output.slept_ms}"}}
        output: {to: user}
`);
    assert.equal(record.status, 'completed');
    assert.deepEqual(record.output, [{ i: 0, ms: 300 }, { i: 1, ms: 50 }, { i: 2, ms: 100 }]);
    const waits = executor.events.filter((e) => / w\d$/.test(e));
    assert.deepEqual(waits.slice(0, 3).sort(), ['start w0', 'start w1', 'start w2'], 'three iterations in flight together');
    assert.equal(row(record, 'each[1].label').status, 'completed');
    assert.equal(row(record, 'each').node, 'test-node');
  });

  test('a counted loop with until stops early; sequential by default', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - id: poll
        loop:
          max: 10
          until: "\${loop.index} >= 2"
          body: [{id: try, tool: echo, args: {n: "\${item}"}}]
`);
    assert.deepEqual(record.output, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    assert.equal(record.steps.filter((s) => s.id.startsWith('poll[')).length, 3);
  });

  test('for_each that is not a list, or longer than max, fails clearly', async () => {
    const notList = await run(`
workflows:
  w:
    steps:
      - {id: a, tool: echo, args: {x: 1}}
      - {id: l, loop: {for_each: "\${a.output.x}", body: [{tool: echo, args: {}}]}}
`);
    assert.match(notList.record.error?.message ?? '', /for_each gave number, not a list/);
    const tooMany = await run(`
workflows:
  w:
    steps:
      - {id: l, loop: {for_each: [1, 2, 3], max: 2, body: [{tool: echo, args: {}}]}}
`);
    assert.match(tooMany.record.error?.message ?? '', /3 items, more than its max of 2/);
  });

  test('a failing iteration fails the loop and stops the others', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - id: l
        loop:
          for_each: [1, 2, 3]
          concurrency: 3
          body:
            - {id: maybe, tool: echo, args: {v: "\${item}"}, output: {to: {condition: {if: "\${item} == 2", then: boom, else: slow}}}}
            - {id: boom, tool: fail, args: {message: "item two"}}
            - {id: slow, tool: sleep, args: {ms: 5000}}
`);
    assert.equal(record.status, 'failed');
    assert.equal(record.error?.step, 'l[1].boom');
    assert.equal(row(record, 'l').status, 'failed');
    assert.equal(row(record, 'l[0].slow').status, 'cancelled');
    assert.equal(row(record, 'l[2].slow').status, 'cancelled');
  });

  test('invoke_workflow runs another workflow with its own input; a loop body may be a workflow', async () => {
    const { record } = await run(`
workflows:
  main:
    steps:
      - {id: sub, invoke_workflow: double, input: {n: 21}}
      - {id: many, loop: {for_each: [1, 2], body: double}, output: {to: user}}
  double:
    steps:
      - {id: d, tool: echo, args: {twice: "\${user_input.n}\${user_input.n}"}}
`, 'x');
    assert.equal(row(record, 'sub').status, 'completed');
    assert.deepEqual(row(record, 'sub').output, { twice: '2121' });
    assert.equal(row(record, 'sub/d').status, 'completed');
    assert.equal(record.status, 'failed', 'items 1 and 2 have no field n');
    assert.equal(record.error?.step, 'many[0]/d');
    assert.match(record.error?.message ?? '', /user_input is a number, so it has no field "n"|has no field "n"/);
  });
});

describe('bounded cycles', () => {
  const cycle = (bound: number) => `
workflows:
  w:
    steps:
      - {id: attempt, tool: echo, max_visits: ${bound}, args: {n: 1}, output: {to: check}}
      - id: check
        tool: echo
        args: {}
        output: {to: {condition: {if: "\${attempt.output.n} == 1", then: attempt, else: user}}}
`;
  test('a cycle that never exits fails at its bound', async () => {
    const { record } = await run(cycle(3));
    assert.equal(record.status, 'failed');
    assert.match(record.error?.message ?? '', /reached its bound: max_visits 3/);
    assert.deepEqual(record.steps.map((s) => s.id), ['attempt', 'check', 'attempt#2', 'check#2', 'attempt#3', 'check#3']);
  });

  test('a retry loop in the LangSwarm style: each round gets its own rows', async () => {
    const { record } = await run(`
workflows:
  w:
    steps:
      - {id: try, tool: flaky, args: {times: 1}, continue_on_error: true, max_visits: 3}
      - id: check
        tool: echo
        args: {}
        output: {to: {condition: {if: "\${try.output.error} exists", then: again, else: done}}}
      - {id: again, tool: echo, args: {note: retrying}, output: {to: try}}
      - {id: done, tool: echo, args: {result: "\${try.output.after}"}, output: {to: user}}
`);
    assert.equal(record.status, 'completed', JSON.stringify(record.error));
    assert.deepEqual(record.output, { result: 1 });
    assert.deepEqual(
      record.steps.map((s) => `${s.id}:${s.status}`),
      ['try:failed', 'check:completed', 'again:completed', 'done:skipped', 'try#2:completed', 'check#2:completed', 'done#2:completed'],
    );
  });
});
