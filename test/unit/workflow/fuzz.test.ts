/**
 * Property tests: thousands of generated malformed documents and random variable / condition
 * strings. Every malformed document ends in a clear validation error (never a throw, a hang or an
 * "internal" error); every random string either works or is refused with our own error type.
 * The generator is seeded, so a failure reproduces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import {
  ConditionError,
  evaluateCondition,
  ExpressionSyntaxError,
  parseExpression,
  parseTemplate,
  resolveTemplate,
  validateWorkflowText,
  VariableError,
  type ValidationResult,
  type VariableScope,
} from '../../../src/workflow/index.js';
import { seededRandom } from '../../harness/random.js';

const rng = seededRandom;

const BASES = [
  `
agents:
  - {id: summarizer, model: gpt-4o-mini, system_prompt: Summarize.}
  - {id: critic, model: gpt-4o-mini}
workflows:
  main_workflow:
    - id: main
      steps:
        - {id: read, tool: echo, args: {text: "\${user_input}"}}
        - {id: sum, agent: summarizer, input: "\${read.output.text}"}
        - id: judge
          agent: critic
          input: "\${sum.output}"
          output:
            to:
              - condition: {if: "\${judge.output} contains 'ok'", then: done, else: redo}
        - {id: redo, agent: summarizer, input: "again \${sum.output}", output: {to: user}}
        - {id: done, tool: echo, args: {ok: true}, output: {to: user}}
`,
  `
tools:
  - {id: files, type: filesystem, settings: {root: data}}
workflows:
  fanout:
    steps:
      - {id: list, tool: files, method: list_dir, args: {path: .}, output: {to: [a, b]}}
      - {id: a, tool: echo, args: {n: 1}, retry: 2, timeout: 5s}
      - {id: b, tool: sleep, args: {ms: 1}, requires: {region: eu-west}}
      - {id: join, depends_on: [a, b], tool: echo, args: {a: "\${a.output}", b: "\${b.output}"}}
      - id: each
        depends_on: [join]
        loop:
          for_each: "\${list.output}"
          var: entry
          concurrency: 2
          body:
            - {id: show, tool: echo, args: {name: "\${entry.name}", i: "\${loop.index}"}}
  helper:
    steps:
      - {tool: echo, args: {x: "\${user_input}"}}
`,
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Mutation = (doc: Record<string, Json>, r: () => number) => Record<string, Json> | string;

const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)] as T;

/** Every step list in a document (workflow steps and loop bodies). */
function stepLists(doc: Record<string, Json>): Json[][] {
  const out: Json[][] = [];
  const visit = (steps: Json | undefined): void => {
    if (!Array.isArray(steps)) return;
    out.push(steps);
    for (const s of steps) if (s && typeof s === 'object' && !Array.isArray(s) && s.loop && typeof s.loop === 'object' && !Array.isArray(s.loop)) visit(s.loop.body);
  };
  const wfs = doc.workflows;
  if (wfs && typeof wfs === 'object' && !Array.isArray(wfs)) {
    for (const w of Object.values(wfs)) {
      if (Array.isArray(w)) for (const item of w) if (item && typeof item === 'object' && !Array.isArray(item)) visit(item.steps);
      if (w && typeof w === 'object' && !Array.isArray(w)) visit(w.steps);
    }
  }
  return out;
}

/** A random step object of the document (a detached one when an earlier mutation left none). */
function randomStep(doc: Record<string, Json>, r: () => number): Record<string, Json> {
  const steps = stepLists(doc).flat().filter((s): s is Record<string, Json> => s !== null && typeof s === 'object' && !Array.isArray(s));
  return steps.length ? pick(steps, r) : {};
}

/** Each of these alone makes a valid document invalid. */
const MUTATIONS: Record<string, Mutation> = {
  unknownAgentOrTool: (d, r) => {
    const s = randomStep(d, r);
    // An undefined agent runs as a default agent (LangSwarm loads such files); a typo of a defined one is refused.
    if ('agent' in s) s.agent = `${String(s.agent)}${pick(['x', 's', '_'], r)}`;
    else if ('tool' in s) s.tool = `no_such_tool_${Math.floor(r() * 99)}`;
    else s.bogus = 1;
    return d;
  },
  unknownKey: (d, r) => {
    randomStep(d, r)[pick(['navigation', 'depends-on', 'outputs', 'retries', 'when_ready'], r)] = 'x';
    return d;
  },
  badId: (d, r) => {
    randomStep(d, r).id = pick(['bad id', '', 'a.b', 'user', 'context', '__proto__', 'x/y', 'é'], r);
    return d;
  },
  duplicateStep: (d, r) => {
    const lists = stepLists(d).filter((l) => l.length > 0);
    if (!lists.length) return { workflows: [] };
    const list = pick(lists, r);
    const original = pick(list, r);
    if (original && typeof original === 'object' && !Array.isArray(original)) original.id ??= 'dup';
    list.push(JSON.parse(JSON.stringify(original)) as Json);
    return d;
  },
  danglingTarget: (d, r) => {
    randomStep(d, r).output = { to: pick(['ghost', ['user', 'ghost2'], { condition: { if: 'true', then: 'nowhere' } }], r) };
    return d;
  },
  danglingDependency: (d, r) => {
    randomStep(d, r).depends_on = ['ghost_step'];
    return d;
  },
  badRetry: (d, r) => {
    randomStep(d, r).retry = pick<Json>([-1, 'often', { count: 'x' }, 1000, { count: 1, jitter: true }, 1.5], r);
    return d;
  },
  badTimeout: (d, r) => {
    randomStep(d, r).timeout = pick(['forever', '-1s', '10 weeks', 0, [], 'ms'], r);
    return d;
  },
  badVariable: (d, r) => {
    const s = randomStep(d, r);
    const v = pick(['${nope.output}', '${', '${a..b}', '${env.SECRET}', '${constructor}', '${x.output.__proto__.y}', 'hi ${context.secrets.key}', '${loop.nothing}', '${process.env.HOME}'], r);
    if ('agent' in s) s.input = v;
    else if ('loop' in s && s.loop && typeof s.loop === 'object' && !Array.isArray(s.loop)) s.loop.for_each = v;
    else s.args = { v };
    return d;
  },
  badCondition: (d, r) => {
    randomStep(d, r).output = { to: [{ condition: { if: pick(["${a.output} = 'x'", "'open", '(1 == 1', 'a.output ==', '1 2', 'exists 3', '', '${'], r), then: 'user' } }] };
    return d;
  },
  badRequires: (d, r) => {
    randomStep(d, r).requires = pick<Json>([{ gpu: 'maybe' }, { region: [] }, { min_cpus: 0 }, { colour: 'red' }, 'gpu', { labels: { a: 1 } }], r);
    return d;
  },
  badLoop: (d, r) => {
    const list = stepLists(d)[0] ?? [];
    if (!stepLists(d).length) return { workflows: 'none' };
    list.push({ id: `loop_${Math.floor(r() * 1e6)}`, loop: pick<Json>([{}, { for_each: 3, body: [] }, { max: 0, body: [] }, { max: 2 }, { max: 2, body: 7 }, { max: 2, concurrency: 2, until: 'true', body: [] }], r) });
    return d;
  },
  twoKinds: (d, r) => {
    const s = randomStep(d, r);
    s.invoke_workflow = 'main';
    return d;
  },
  noSteps: (d, r) => {
    const wfs = d.workflows;
    if (!wfs || typeof wfs !== 'object' || Array.isArray(wfs) || !Object.keys(wfs).length) return { workflows: {} };
    const key = pick(Object.keys(wfs), r);
    wfs[key] = pick<Json>([{ steps: [] }, {}, { steps: 'none' }, [], 5, { steps: [null] }], r);
    return d;
  },
  wrongTopLevel: (d, r) => pick<Record<string, Json>>([{ workflows: 7 }, { workflows: null }, { workflows: 'main' }, { agents: 'x', workflows: {} }, { tools: [{ type: 'echo' }], workflows: d.workflows ?? null }], r),
  brokenYamlText: (d, r) => {
    const text = stringify(d);
    const lines = text.split('\n');
    const at = Math.floor(r() * lines.length);
    lines.splice(at, 0, pick(['\tbad: tab', 'x: [unclosed', 'key: "open', '  - : :', '? [a, b]', '&a [*b]', 'workflows: {}', '- item: at wrong level\n  workflows: {}'], r));
    return lines.join('\n').concat(r() < 0.5 ? '\nworkflows: {}\n' : '');
  },
};

function junk(r: () => number): string {
  const alphabet = 'abc:- \n\t[]{}"\'#&*!|>%@`,?=${}.0123456789é\u0000\u2028';
  const n = Math.floor(r() * 200);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function assertClearErrors(res: ValidationResult, doc: string): void {
  assert.equal(res.valid, false, `expected invalid:\n${doc}`);
  assert.ok(res.errors.length > 0);
  for (const e of res.errors) {
    assert.equal(typeof e.path, 'string');
    assert.ok(typeof e.message === 'string' && e.message.length > 5, `unclear message ${JSON.stringify(e)}`);
    assert.ok(e.line === undefined || (Number.isInteger(e.line) && e.line >= 1), `bad line ${JSON.stringify(e)}`);
    assert.doesNotMatch(e.message, /internal validator error|undefined|\[object Object\]/, `${e.message}\n${doc}`);
  }
}

describe('fuzz: malformed documents', () => {
  test('the base documents are valid', () => {
    for (const b of BASES) assert.deepEqual(validateWorkflowText(b).errors, []);
  });

  test('1,200 mutated documents each end in a clear validation error', { timeout: 120_000 }, () => {
    const r = rng(Number(process.env.WFMESH_FUZZ_SEED ?? 0xc0ffee));
    const names = Object.keys(MUTATIONS);
    const seen = new Map<string, number>();
    for (let i = 0; i < 1200; i++) {
      let doc = parse(pick(BASES, r)) as Record<string, Json>;
      let text: string | undefined;
      const count = 1 + Math.floor(r() * 3);
      for (let m = 0; m < count && text === undefined; m++) {
        const name = pick(names, r);
        seen.set(name, (seen.get(name) ?? 0) + 1);
        const out = (MUTATIONS[name] as Mutation)(doc, r);
        if (typeof out === 'string') text = out;
        else doc = out;
      }
      text ??= stringify(doc);
      assertClearErrors(validateWorkflowText(text, { strict: true }), text);
    }
    assert.equal(seen.size, names.length, 'every mutation was exercised');
  });

  test('300 random junk texts never crash the validator', { timeout: 60_000 }, () => {
    const r = rng(42);
    for (let i = 0; i < 300; i++) {
      const text = junk(r);
      const res = validateWorkflowText(text);
      assertClearErrors(res, text);
    }
  });

  test('inputs that are not text at all are reported, not thrown', () => {
    for (const v of [undefined, null, 42, {}, Buffer.from('x')]) {
      const res = validateWorkflowText(v as unknown as string);
      assert.equal(res.valid, false);
    }
  });
});

const TOKENS = [
  '${', '}', '${a.output', '${a.output.x}', '${user_input}', '${env.HOME}', '${__proto__}', '${a.output.constructor}',
  '${context.step_outputs.a.x}', '${loop.index}', '${item}', 'and', 'or', 'not', 'in', 'contains', 'exists', 'is', '==', '!=', '<', '>=', '(', ')', '[', ']', ',',
  "'", '"', "'txt'", 'x', '1', '-', '.', '2.5e3', ' ', 'None', 'true', '\\', '$$', '{{', '||', '&&', '!', '=', 'a.output.x', '1e999', '$', '${ }',
];

/** A well-formed condition from the grammar (about half of them still fail to evaluate). */
function wellFormed(r: () => number, depth = 0): string {
  const value = (): string => pick(['${a.output.x}', 'a.output.list', '${item}', "'x'", '2', 'None', '${a.output.nope}', '${user_input}', '[1, 2]', 'true'], r);
  const roll = r();
  if (depth < 3 && roll < 0.25) return `(${wellFormed(r, depth + 1)}) ${pick(['and', 'or', '&&', '||'], r)} ${wellFormed(r, depth + 1)}`;
  if (depth < 3 && roll < 0.35) return `not ${wellFormed(r, depth + 1)}`;
  if (roll < 0.5) return `${pick(['${a.output.x}', '${a.output.nope}', 'item', '${loop.index}'], r)} ${pick(['exists', 'not exists'], r)}`;
  return `${value()} ${pick(['==', '!=', '<', '>=', 'in', 'not in', 'contains', 'not contains'], r)} ${value()}`;
}

function randomString(r: () => number): string {
  if (r() < 0.3) return wellFormed(r);
  if (r() < 0.2) return junk(r).slice(0, 60);
  const n = 1 + Math.floor(r() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(TOKENS, r) + (r() < 0.5 ? ' ' : '');
  return s;
}

describe('fuzz: variables and conditions', () => {
  const scope: VariableScope = {
    input: 'hi',
    step: (id) => (id === 'a' ? { status: 'completed', output: { x: 1, list: [1, 2] } } : undefined),
    locals: { item: 3, loop: { index: 0, item: 3 } },
  };

  test('2,000 random strings: each works or is refused with our own error', { timeout: 60_000 }, () => {
    const r = rng(7);
    let parsed = 0;
    for (let i = 0; i < 2000; i++) {
      const s = randomString(r);
      const ours = (err: unknown): boolean => err instanceof ExpressionSyntaxError || err instanceof ConditionError || err instanceof VariableError;
      try {
        parseExpression(s);
        parsed++;
        try {
          assert.equal(typeof evaluateCondition(s, scope), 'boolean');
        } catch (err) {
          assert.ok(ours(err), `evaluate(${JSON.stringify(s)}) threw ${String(err)}`);
        }
      } catch (err) {
        assert.ok(ours(err), `parse(${JSON.stringify(s)}) threw ${String(err)}`);
      }
      try {
        parseTemplate(s);
        const v = resolveTemplate(s, scope);
        // Each `$${` escape may leave one literal `${...}`; no scope value contains `${`, so any more is a variable left unresolved.
        const placeholders = typeof v === 'string' ? (v.match(/\$\{[^}]*\}/g) ?? []).length : 0;
        assert.ok(placeholders <= s.split('$${').length - 1, `leftover variable in ${JSON.stringify(v)} from ${JSON.stringify(s)}`);
      } catch (err) {
        assert.ok(ours(err), `template(${JSON.stringify(s)}) threw ${String(err)}`);
      }
    }
    assert.ok(parsed > 300, `only ${parsed} random conditions were well-formed`);
  });

  test('1,000 random conditions and arguments inside workflows validate without crashing', { timeout: 60_000 }, () => {
    const r = rng(99);
    for (let i = 0; i < 1000; i++) {
      const s = randomString(r);
      const doc = {
        workflows: {
          w: {
            steps: [
              { id: 'a', tool: 'echo', args: { v: s }, output: { to: [{ condition: { if: s, then: 'b', else: 'user' } }] } },
              { id: 'b', tool: 'echo', args: {} },
            ],
          },
        },
      };
      const text = stringify(doc);
      const res = validateWorkflowText(text);
      let parses = true;
      try {
        parseExpression(s);
      } catch {
        parses = false;
      }
      if (!parses) {
        assertClearErrors(res, text);
        assert.ok(res.errors.some((e) => e.path.endsWith('condition.if')), `no error at the condition for ${JSON.stringify(s)}`);
      }
      for (const e of res.errors) assert.doesNotMatch(e.message, /internal validator error/);
    }
  });

  test('a variable that reaches outside its scope is always refused', () => {
    const r = rng(5);
    const escapes = ['__proto__', 'constructor', 'prototype'];
    for (let i = 0; i < 300; i++) {
      const parts = ['a', 'output', 'list', '0', 'x'].slice(0, 1 + Math.floor(r() * 4));
      parts.splice(1 + Math.floor(r() * parts.length), 0, pick(escapes, r));
      const v = `\${${parts.join('.')}}`;
      assert.throws(() => resolveTemplate(v, scope), (err: Error) => err instanceof VariableError && /outside any variable's scope/.test(err.message), v);
      const res = validateWorkflowText(stringify({ workflows: { w: [{ id: 'a', tool: 'echo', args: {} }, { tool: 'echo', args: { v } }] } }));
      assert.ok(res.errors.some((e) => /outside any variable's scope/.test(e.message)), v);
    }
    for (const v of ['${process.env.HOME}', '${globalThis}', '${require}', '${this}', '${env.PATH}', '${context.constructor}']) {
      assert.throws(() => resolveTemplate(v, scope), VariableError, v);
    }
  });
});
