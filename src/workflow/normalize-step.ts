/**
 * One YAML step → one normalised Step. Accepts the LangSwarm spellings (steps without ids,
 * `output.to` as a name, a list or a condition, `retry: 3`, `timeout: 30s`) and reports every
 * problem with its path.
 */
import { RequiresSchema } from '../protocol/step.js';
import { parseDuration } from './duration.js';
import { parseExpression, ExpressionSyntaxError } from './expression.js';
import { joinPath, type IssueList } from './issues.js';
import { FORBIDDEN_KEYS, isValidId, type LoopSpec, type Retry, type Route, type Step } from './model.js';
import { isPlainObject, parseTemplate, parseVariablePath, VariableError } from './variables.js';
import { zodIssues } from './zod-issues.js';
import { functionStep } from './langswarm.js';

/** Step ids that would shadow a variable root. */
export const RESERVED_IDS = new Set(['user', 'user_input', 'input', 'context', 'env', 'loop']);

const COMMON_KEYS = ['id', 'description', 'depends_on', 'output', 'retry', 'timeout', 'continue_on_error', 'requires', 'condition', 'max_visits', 'output_key'];
/** LangSwarm step keys with no effect here: a warning each, never an error. */
const IGNORED_STEP_KEYS: Record<string, string> = {
  fan_key: '`fan_key` is not needed: a step that several routes lead to waits for every branch that was taken',
  is_fan_in: '`is_fan_in` is not needed: a step that several routes lead to waits for every branch that was taken',
  name: 'a step `name` is ignored (the id names it)',
  tools: 'tools on a step are ignored: give them to the agent (agents: tools)',
  async: '"async" is ignored: independent branches always run concurrently',
};
const KIND_KEYS = { agent: ['agent', 'input'], tool: ['tool', 'method', 'args'], invoke_workflow: ['invoke_workflow', 'input'], loop: ['loop'] } as const;
/** What a step key that wfmesh does not know most likely meant. */
const UNKNOWN_KEY_HINTS: Record<string, string> = {
  args: 'agent steps take `input`',
  input: 'tool steps take `args`',
  'depends-on': 'did you mean depends_on?',
  dependsOn: 'did you mean depends_on?',
  output_to: 'write output: {to: STEP}',
  intent: "an intent-based tool call goes through an agent: list the tool under the agent's tools and put the intent in its input",
  context: "an intent-based tool call goes through an agent: list the tool under the agent's tools and put the intent in its input",
};
const V2_CONDITION = 'a condition step (true_step/false_step, LangSwarm V2) is not supported: route from the step before it with output.to: {condition: {if: ..., then: STEP, else: STEP}}';
const V2_TRANSFORM = 'a transform step (transform/transformer, LangSwarm V2, a Python expression) is not supported: use a tool step of type transform (pick, template, json_parse, concat, split, length)';
const UNSUPPORTED: Record<string, string> = {
  script: 'inline `script` steps are not supported: use a tool step (transform, shell)',
  no_mcp: '`no_mcp` (an agent that picks among tools itself) is not supported: give the agent `tools:` or write one tool step per tool',
  navigation: '`navigation` (an agent choosing the next step) is not supported: route on its reply with output.to: [{condition: {switch: ..., cases: ...}}]',
  rollback_to: '`rollback_to` is not supported: route back with output.to and bound the cycle with max_visits',
  // LangSwarm V2's YAML parser: a condition step that only routes, and a transform step that runs a Python lambda.
  true_step: V2_CONDITION,
  false_step: V2_CONDITION,
  if_true: V2_CONDITION,
  if_false: V2_CONDITION,
  transform: V2_TRANSFORM,
  transformer: V2_TRANSFORM,
};
const MAX_RETRIES = 100;
const MAX_CONCURRENCY = 256;
export const DEFAULT_RETRY = { backoff_ms: 200, max_backoff_ms: 10_000 } as const;

/** Where things came from, for later checks. */
export interface SourceMap {
  readonly steps: Map<Step, string>;
  /** LangSwarm `output_key`: the run variable a step's output is also known by. */
  readonly outputKeys: Map<Step, string>;
  readonly routes: Map<Route, string>;
  /** Ids of steps that were refused: references to them are not reported again. */
  readonly refused: Set<string>;
  /** Steps whose id was generated, with the name it was derived from. */
  readonly unnamed: Map<Step, string>;
}

export function newSourceMap(): SourceMap {
  return { steps: new Map(), outputKeys: new Map(), routes: new Map(), unnamed: new Map(), refused: new Set() };
}

/**
 * Keys LangSwarm's loader reads under another name: a tool step's `parameters` or `params` are
 * its `args`, an agent step's `input_data` its `input`, `dependencies` is `depends_on`. Both
 * spellings at once is an error naming the two.
 */
const SPELLINGS: readonly (readonly [from: string, to: string, when: 'tool' | 'agent' | 'any'])[] = [
  ['parameters', 'args', 'tool'],
  ['params', 'args', 'tool'],
  ['input_data', 'input', 'agent'],
  ['dependencies', 'depends_on', 'any'],
];

function langswarmSpellings(raw: Record<string, unknown>, path: string, issues: IssueList): Record<string, unknown> {
  let out = raw;
  for (const [from, to, when] of SPELLINGS) {
    if (!(from in out) || (when !== 'any' && !(when in out))) continue;
    if (to in out) {
      issues.error(joinPath(path, from), `both "${from}" and "${to}": they are the same setting, keep one`);
      continue;
    }
    const { [from]: value, ...rest } = out;
    out = { ...rest, [to]: value };
  }
  return out;
}

/** Normalises a list of steps; invalid steps are reported and left out. */
export function normalizeSteps(raw: unknown, path: string, issues: IssueList, src: SourceMap): Step[] {
  if (!Array.isArray(raw)) {
    issues.error(path, raw === undefined || raw === null ? 'steps are missing' : 'steps must be a list');
    return [];
  }
  if (raw.length === 0) issues.error(path, 'a workflow needs at least one step');
  const out: Step[] = [];
  raw.forEach((item, i) => {
    const step = normalizeStep(item, joinPath(path, i), issues, src);
    if (step) out.push(step);
    else if (isPlainObject(item)) {
      if (typeof item.id === 'string') src.refused.add(item.id);
      if (typeof item.output_key === 'string') src.refused.add(item.output_key);
    }
  });
  return out;
}

function normalizeStep(input: unknown, path: string, issues: IssueList, src: SourceMap): Step | undefined {
  if (!isPlainObject(input)) {
    issues.error(path, 'a step must be a mapping (id, agent/tool/..., output)');
    return undefined;
  }
  let raw = input;
  let meshTool = false;
  let fault: string | undefined;
  if ('function' in raw && !('tool' in raw) && !('agent' in raw)) {
    // LangSwarm `function: mcp_call`: a tool step with the same routing and retry.
    const { function: _f, args: _a, ...rest } = raw;
    const { mesh_tool, fault: why, ...tool } = functionStep(raw, path, issues);
    meshTool = mesh_tool === true;
    if (typeof why === 'string') fault = why;
    raw = { ...rest, ...tool };
  }
  raw = langswarmSpellings(raw, path, issues);
  if (raw.is_fan_in !== undefined && !('tool' in raw) && isPlainObject(raw.args) && Object.keys(raw.args).every((k) => k === 'steps')) {
    // LangSwarm's fan-in lists the steps it waits for in args.steps (an agent step ignores them).
    issues.warn(joinPath(path, 'args'), 'args.steps of a fan-in is not needed: a step that several routes lead to waits for every branch that was taken');
    const { args: _steps, ...rest } = raw;
    raw = rest;
  }
  for (const [key, why] of Object.entries(IGNORED_STEP_KEYS)) if (key in raw && !(key === 'tools' && 'tool' in raw)) issues.warn(joinPath(path, key), why);
  const kinds = (Object.keys(KIND_KEYS) as (keyof typeof KIND_KEYS)[]).filter((k) => k in raw);
  for (const key of Object.keys(raw)) {
    if (UNSUPPORTED[key]) issues.error(joinPath(path, key), UNSUPPORTED[key]);
  }
  if (kinds.length !== 1) {
    if (kinds.length === 0 && !Object.keys(raw).some((k) => UNSUPPORTED[k])) {
      issues.error(path, 'a step needs exactly one of agent, tool, invoke_workflow or loop');
    } else if (kinds.length > 1) {
      issues.error(path, `a step has exactly one of agent, tool, invoke_workflow or loop, not ${kinds.join(' and ')}`);
    }
    return undefined;
  }
  // A step that uses what wfmesh refuses is left out (its id is remembered, so nothing else cascades).
  if (Object.keys(raw).some((k) => UNSUPPORTED[k])) return undefined;
  const kind = kinds[0] as keyof typeof KIND_KEYS;
  const allowed = new Set<string>([...COMMON_KEYS, ...KIND_KEYS[kind]]);
  for (const key of Object.keys(raw)) {
    if (allowed.has(key) || UNSUPPORTED[key] || Object.hasOwn(IGNORED_STEP_KEYS, key)) continue;
    const hint = Object.hasOwn(UNKNOWN_KEY_HINTS, key) ? ` (${UNKNOWN_KEY_HINTS[key]})` : '';
    issues.error(joinPath(path, key), `unknown step key "${key}"${hint}`);
  }

  const base = common(raw, path, issues, src);
  let step: Step | undefined;
  let nameForId = kind as string;
  if (kind === 'agent') {
    const agent = str(raw.agent, joinPath(path, 'agent'), issues, 'an agent id');
    let input = raw.input;
    if (!('input' in raw)) {
      issues.warn(path, 'the agent step has no `input`: it gets the run input (${user_input})');
      input = '${user_input}';
    }
    checkTemplates(input, joinPath(path, 'input'), issues);
    if (typeof raw.input === 'string' && /\{\{\s*(context\.|user_input|step_outputs)/.test(raw.input)) {
      issues.warn(joinPath(path, 'input'), '{{ ... }} is sent as plain text; write variables as ${context.user_input}');
    }
    if (agent !== undefined) step = { ...base, kind, agent, input };
    nameForId = agent ?? nameForId;
  } else if (kind === 'tool') {
    const tool = str(raw.tool, joinPath(path, 'tool'), issues, 'a tool id or type');
    const method = raw.method === undefined ? undefined : str(raw.method, joinPath(path, 'method'), issues, 'a method name');
    checkTemplates(raw.args, joinPath(path, 'args'), issues);
    if (tool !== undefined) step = { ...base, kind, tool, ...(method !== undefined && { method }), args: raw.args ?? {}, ...(meshTool && { mesh_tool: true }) };
    nameForId = tool ?? nameForId;
  } else if (kind === 'invoke_workflow') {
    const workflow = str(raw.invoke_workflow, joinPath(path, 'invoke_workflow'), issues, 'a workflow id');
    checkTemplates(raw.input, joinPath(path, 'input'), issues);
    if (workflow !== undefined) step = { ...base, kind, workflow, ...('input' in raw && { input: raw.input }) };
    nameForId = workflow ?? nameForId;
  } else {
    const loop = loopSpec(raw.loop, joinPath(path, 'loop'), issues, src);
    if (loop) step = { ...base, kind: 'loop', loop };
  }
  if (!step) return undefined;
  if (fault !== undefined) step.fault = fault;
  if (step.retry && (kind === 'loop' || kind === 'invoke_workflow')) {
    issues.error(joinPath(path, 'retry'), `retry applies to agent and tool steps, not to ${kind} steps (retry their inner steps)`);
  }
  src.steps.set(step, path);
  if (raw.output_key !== undefined) {
    if (typeof raw.output_key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw.output_key) && !RESERVED_IDS.has(raw.output_key)) src.outputKeys.set(step, raw.output_key);
    else issues.error(joinPath(path, 'output_key'), 'output_key is a variable name (letters, digits, _) other than user_input, input, context, env, loop');
  }
  if (raw.id === undefined) src.unnamed.set(step, nameForId);
  return step;
}

type Base = Omit<Step, 'kind' | 'agent' | 'input' | 'tool' | 'method' | 'args' | 'workflow' | 'loop'>;

function common(raw: Record<string, unknown>, path: string, issues: IssueList, src: SourceMap): Base {
  const base: Base = { id: '', depends_on: [], routes: [], continue_on_error: false };
  if (raw.id !== undefined) {
    const p = joinPath(path, 'id');
    const id = typeof raw.id === 'number' ? String(raw.id) : raw.id;
    if (!isValidId(id)) issues.error(p, 'a step id uses letters, digits, _ and - only');
    else if (RESERVED_IDS.has(id)) issues.error(p, `"${id}" is reserved (it names a variable); choose another step id`);
    else base.id = id;
  }
  if (raw.description !== undefined) base.description = str(raw.description, joinPath(path, 'description'), issues, 'text');
  if (raw.depends_on !== undefined) base.depends_on = idList(raw.depends_on, joinPath(path, 'depends_on'), issues);
  if (raw.output !== undefined) {
    const before = issues.errors.length;
    base.routes = output(raw.output, joinPath(path, 'output'), issues, src);
    // Its routes are incomplete: reachability would only repeat that error.
    if (issues.errors.length > before && typeof raw.id === 'string') src.refused.add(`${raw.id}\u0000routes`);
  }
  if (raw.retry !== undefined) base.retry = retry(raw.retry, joinPath(path, 'retry'), issues);
  if (raw.timeout !== undefined) {
    const ms = parseDuration(raw.timeout);
    if (ms === undefined) issues.error(joinPath(path, 'timeout'), 'a timeout is a duration such as 500ms, 30s, 2m or 1h');
    else base.timeout_ms = ms;
  }
  if (raw.continue_on_error !== undefined) {
    if (typeof raw.continue_on_error !== 'boolean') issues.error(joinPath(path, 'continue_on_error'), 'continue_on_error is true or false');
    else base.continue_on_error = raw.continue_on_error;
  }
  if (raw.requires !== undefined) base.requires = requires(raw.requires, joinPath(path, 'requires'), issues);
  if (raw.condition !== undefined) base.condition = condition(raw.condition, joinPath(path, 'condition'), issues);
  if (raw.max_visits !== undefined) base.max_visits = positiveInt(raw.max_visits, joinPath(path, 'max_visits'), issues, 1_000_000);
  return base;
}

/** Parses a `requires` block with the wire schema, naming each bad field. */
export function requires(raw: unknown, path: string, issues: IssueList): Step['requires'] {
  const r = RequiresSchema.safeParse(raw);
  if (r.success) return r.data;
  for (const i of zodIssues(r.error, path)) issues.error(i.path, `bad requires: ${i.message}`);
  return undefined;
}

function output(raw: unknown, path: string, issues: IssueList, src: SourceMap): Route[] {
  if (!isPlainObject(raw)) {
    issues.error(path, 'output is a mapping: output: {to: STEP | user | [STEP, ...] | condition}');
    return [];
  }
  for (const key of Object.keys(raw)) {
    if (key === 'collect') issues.warn(joinPath(path, key), 'output.collect (LangSwarm V1 loops) is not needed: a loop\'s output is the list of its iteration outputs');
    else if (key !== 'to') issues.error(joinPath(path, key), `unknown output key "${key}" (only "to")`);
  }
  if (raw.to === undefined) {
    issues.error(path, 'output needs `to`');
    return [];
  }
  const p = joinPath(path, 'to');
  const items = Array.isArray(raw.to) ? raw.to.map((v, i) => [v, joinPath(p, i)] as const) : [[raw.to, p] as const];
  if (items.length === 0) issues.error(p, 'output.to is an empty list');
  const routes: Route[] = [];
  for (const [item, ip] of items) {
    if (typeof item === 'string') {
      const last = routes.at(-1);
      if (last?.kind === 'goto') last.targets.push(item);
      else {
        const r: Route = { kind: 'goto', targets: [item] };
        src.routes.set(r, ip);
        routes.push(r);
      }
    } else if (isPlainObject(item) && typeof item.step === 'string' && Object.keys(item).length === 1) {
      // LangSwarm `{step: X}` target.
      const last = routes.at(-1);
      if (last?.kind === 'goto') last.targets.push(item.step);
      else {
        const r: Route = { kind: 'goto', targets: [item.step] };
        src.routes.set(r, ip);
        routes.push(r);
      }
    } else if (isPlainObject(item)) {
      const cp = 'condition' in item ? joinPath(ip, 'condition') : ip;
      if ('condition' in item && Object.keys(item).length > 1) issues.error(ip, 'a routing condition is {condition: {...}} with nothing beside it');
      const r = routeCondition('condition' in item ? item.condition : item, cp, issues);
      if (r) {
        src.routes.set(r, cp);
        routes.push(r);
      }
    } else {
      issues.error(ip, 'a route is a step id, `user` or a condition');
    }
  }
  return routes;
}

function routeCondition(raw: unknown, path: string, issues: IssueList): Route | undefined {
  if (!isPlainObject(raw)) {
    issues.error(path, 'a condition is {if, then, else}, {switch, cases, default} or {exists, then, else}');
    return undefined;
  }
  const form = ['if', 'switch', 'exists'].filter((k) => k in raw);
  if (form.length !== 1) {
    issues.error(path, 'a condition has exactly one of if, switch or exists');
    return undefined;
  }
  const allowed = form[0] === 'switch' ? ['switch', 'cases', 'default'] : [form[0] as string, 'then', 'else'];
  for (const key of Object.keys(raw)) if (!allowed.includes(key)) issues.error(joinPath(path, key), `unknown key "${key}" in an ${form[0]} condition`);
  if (form[0] === 'switch') {
    const expr = condition(raw.switch, joinPath(path, 'switch'), issues);
    const cases: Record<string, string[]> = {};
    if (!isPlainObject(raw.cases) || Object.keys(raw.cases).length === 0) issues.error(joinPath(path, 'cases'), 'switch needs cases: {VALUE: STEP, ...}');
    else {
      for (const [k, v] of Object.entries(raw.cases)) {
        if (FORBIDDEN_KEYS.has(k)) issues.error(joinPath(joinPath(path, 'cases'), k), `"${k}" cannot be a case`);
        else cases[k] = targets(v, joinPath(joinPath(path, 'cases'), k), issues);
      }
    }
    const def = raw.default === undefined ? undefined : targets(raw.default, joinPath(path, 'default'), issues);
    return expr === undefined ? undefined : { kind: 'switch', switch: expr, cases, ...(def && { default: def }) };
  }
  if (raw.then === undefined) issues.error(path, `an ${form[0]} condition needs \`then\``);
  const then = targets(raw.then, joinPath(path, 'then'), issues);
  const otherwise = raw.else === undefined ? [] : targets(raw.else, joinPath(path, 'else'), issues);
  let expr: string | undefined;
  if (form[0] === 'if') expr = condition(raw.if, joinPath(path, 'if'), issues);
  else expr = existsExpression(raw.exists, joinPath(path, 'exists'), issues);
  return expr === undefined ? undefined : { kind: 'if', if: expr, then, else: otherwise };
}

function existsExpression(raw: unknown, path: string, issues: IssueList): string | undefined {
  if (typeof raw !== 'string') {
    issues.error(path, 'exists names a variable, e.g. exists: ${lookup.output.user_id}');
    return undefined;
  }
  const m = /^\s*\$\{([^}]*)\}\s*$/.exec(raw);
  const inner = m ? (m[1] ?? '') : raw;
  try {
    parseVariablePath(inner);
    return `\${${inner.trim()}} exists`;
  } catch (err) {
    issues.error(path, (err as Error).message);
    return undefined;
  }
}

function targets(raw: unknown, path: string, issues: IssueList): string[] {
  // LangSwarm also writes a target as {step: ID}.
  const one = (t: unknown): string | undefined => (typeof t === 'string' ? t : isPlainObject(t) && typeof t.step === 'string' && Object.keys(t).length === 1 ? t.step : undefined);
  const list = Array.isArray(raw) ? raw.map(one) : [one(raw)];
  if (list.length > 0 && list.every((t): t is string => t !== undefined)) return list;
  issues.error(path, 'a target is a step id, `user`, {step: ID}, or a list of them');
  return [];
}

/** A condition's source text: checked for syntax now, evaluated at run time. */
function condition(raw: unknown, path: string, issues: IssueList): string | undefined {
  const text = typeof raw === 'boolean' ? String(raw) : raw;
  if (typeof text !== 'string') {
    issues.error(path, 'a condition is text, e.g. "${check.output.ok} == true"');
    return undefined;
  }
  try {
    parseExpression(text);
    return text;
  } catch (err) {
    issues.error(path, `bad condition: ${err instanceof ExpressionSyntaxError ? err.message : String(err)}`);
    return undefined;
  }
}

function loopSpec(raw: unknown, path: string, issues: IssueList, src: SourceMap): LoopSpec | undefined {
  if (!isPlainObject(raw)) {
    issues.error(path, 'loop is a mapping: {for_each, var, max, body}');
    return undefined;
  }
  const known = ['for_each', 'var', 'max', 'concurrency', 'until', 'body'];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) issues.error(joinPath(path, key), `unknown loop key "${key}" (${known.join(', ')})`);
  }
  const spec: LoopSpec = { var: 'item', concurrency: 1, body: { steps: [] } };
  if (raw.for_each !== undefined) {
    if (typeof raw.for_each !== 'string' && !Array.isArray(raw.for_each)) issues.error(joinPath(path, 'for_each'), 'for_each is a list or a variable that holds one');
    checkTemplates(raw.for_each, joinPath(path, 'for_each'), issues);
    spec.for_each = raw.for_each;
  }
  if (raw.var !== undefined) {
    const v = raw.var;
    if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) issues.error(joinPath(path, 'var'), 'var is a name (letters, digits, _)');
    else if (RESERVED_IDS.has(v)) issues.error(joinPath(path, 'var'), `"${v}" is reserved; choose another loop variable name`);
    else spec.var = v;
  }
  if (raw.max !== undefined) spec.max = positiveInt(raw.max, joinPath(path, 'max'), issues, 1_000_000);
  if (raw.concurrency !== undefined) spec.concurrency = positiveInt(raw.concurrency, joinPath(path, 'concurrency'), issues, MAX_CONCURRENCY) ?? 1;
  if (raw.until !== undefined) spec.until = condition(raw.until, joinPath(path, 'until'), issues);
  if (raw.for_each === undefined && raw.max === undefined) issues.error(path, 'a loop needs for_each (a list) or max (a count)');
  if (spec.until !== undefined && spec.concurrency > 1) issues.error(joinPath(path, 'until'), 'until needs iterations in order: drop concurrency or until');
  const bp = joinPath(path, 'body');
  if (typeof raw.body === 'string') spec.body = { workflow: raw.body };
  else if (isPlainObject(raw.body)) spec.body = { steps: normalizeSteps([raw.body], bp, issues, src) };
  else if (Array.isArray(raw.body)) spec.body = { steps: normalizeSteps(raw.body, bp, issues, src) };
  else issues.error(bp, 'a loop body is a list of steps or the id of a workflow to invoke per item');
  return spec;
}

function retry(raw: unknown, path: string, issues: IssueList): Retry | undefined {
  if (typeof raw === 'number') {
    const count = nonNegativeInt(raw, path, issues, MAX_RETRIES);
    return count === undefined ? undefined : { count, ...DEFAULT_RETRY };
  }
  if (!isPlainObject(raw)) {
    issues.error(path, 'retry is a count or {count, backoff_ms, max_backoff_ms}');
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!['count', 'backoff_ms', 'max_backoff_ms'].includes(key)) issues.error(joinPath(path, key), `unknown retry key "${key}"`);
  }
  const count = nonNegativeInt(raw.count, joinPath(path, 'count'), issues, MAX_RETRIES);
  const backoff = raw.backoff_ms === undefined ? DEFAULT_RETRY.backoff_ms : nonNegativeInt(raw.backoff_ms, joinPath(path, 'backoff_ms'), issues, 3_600_000);
  const max = raw.max_backoff_ms === undefined ? Math.max(DEFAULT_RETRY.max_backoff_ms, backoff ?? 0) : nonNegativeInt(raw.max_backoff_ms, joinPath(path, 'max_backoff_ms'), issues, 3_600_000);
  if (count === undefined || backoff === undefined || max === undefined) return undefined;
  return { count, backoff_ms: backoff, max_backoff_ms: max };
}

/** Reports invalid `${...}` syntax anywhere in a value (scope is checked later). */
export function checkTemplates(value: unknown, path: string, issues: IssueList, depth = 0): void {
  if (depth > 64) return;
  if (typeof value === 'string') {
    try {
      parseTemplate(value);
    } catch (err) {
      issues.error(path, err instanceof VariableError ? err.message : String(err));
    }
  } else if (Array.isArray(value)) value.forEach((v, i) => checkTemplates(v, joinPath(path, i), issues, depth + 1));
  else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) checkTemplates(v, joinPath(path, k), issues, depth + 1);
}

function idList(raw: unknown, path: string, issues: IssueList): string[] {
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    issues.error(path, 'depends_on is a step id or a list of step ids');
    return [];
  }
  return list as string[];
}

function str(raw: unknown, path: string, issues: IssueList, what: string): string | undefined {
  if (typeof raw === 'string' && raw.length > 0) return raw;
  issues.error(path, `expected ${what} (text), got ${describeValue(raw)}`);
  return undefined;
}

function positiveInt(raw: unknown, path: string, issues: IssueList, max: number): number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw > 0 && raw <= max) return raw;
  issues.error(path, `expected a whole number from 1 to ${max}, got ${describeValue(raw)}`);
  return undefined;
}

function nonNegativeInt(raw: unknown, path: string, issues: IssueList, max: number): number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= max) return raw;
  issues.error(path, `expected a whole number from 0 to ${max}, got ${describeValue(raw)}`);
  return undefined;
}

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v.length > 30 ? `${v.slice(0, 30)}...` : v}"`;
  return String(v);
}
