/**
 * The whole document → WorkflowDocument: `agents` and `tools` as lists or maps, `workflows` in
 * the LangSwarm V1 form (`main_workflow: [ {id, steps} ]`), the map form (`name: {steps}`) or
 * as a bare list of steps. Problems are collected, never thrown.
 */
import { joinPath, type IssueList } from './issues.js';
import { isValidId, type Agent, type Step, type Tool, type Workflow, type WorkflowDocument } from './model.js';
import { checkTemplates, describeValue, newSourceMap, normalizeSteps, requires, RESERVED_IDS, type SourceMap } from './normalize-step.js';
import { isPlainObject } from './variables.js';
import { isTypoOf } from './check.js';
import { BEHAVIOR_PROMPTS, rewriteRefs, simpleSyntax, TOOL_TYPE_ALIASES } from './langswarm.js';
import { normalizeAgent } from './normalize-agent.js';

const TOP_KEYS = ['agents', 'tools', 'workflows', 'version', 'name', 'description'];
const TOOL_KEYS = ['id', 'type', 'description', 'settings', 'requires'];
const WORKFLOW_KEYS = ['id', 'name', 'description', 'steps', 'inputs'];
/** Workflow keys LangSwarm files carry that change nothing here. */
const WORKFLOW_IGNORED = ['async', 'version', 'metadata', 'tags', 'timeout', 'output', 'settings', 'memory', 'session', 'execution_mode', 'input_schema', 'output_schema'];

export interface NormalizeOptions {
  readonly knownToolTypes: readonly string[];
  /** Whether an undeclared `${NAME}` reads the run input's field (see runVariables). */
  readonly runKeywords: boolean;
}

export interface Normalized {
  readonly document: WorkflowDocument;
  readonly sources: SourceMap;
  /** Workflow id → its YAML path. */
  readonly workflowPaths: Map<string, string>;
  readonly agentPaths: Map<string, string>;
  readonly toolPaths: Map<string, string>;
}

export function normalizeDocument(value: unknown, issues: IssueList, opts: NormalizeOptions): Normalized | undefined {
  if (!isPlainObject(value)) {
    issues.error('', value === null || value === undefined ? 'the document is empty' : 'the document must be a mapping with agents, tools and workflows');
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!TOP_KEYS.includes(key)) issues.warn(joinPath('', key), `top-level key "${key}" is ignored (wfmesh reads agents, tools and workflows)`);
  }
  const agentPaths = new Map<string, string>();
  const toolPaths = new Map<string, string>();
  const agents = entries(value.agents, 'agents', issues).reduce<Record<string, Agent>>((acc, [item, path, key]) => {
    // `agents: [assistant]`: an agent by name only, with the helpful behaviour.
    const raw = typeof item === 'string' && key === undefined ? { id: item, behavior: 'helpful' } : item;
    const a = normalizeAgent(raw, path, key, issues);
    if (a) add(acc, agentPaths, a.id, a, path, 'agent', issues);
    return acc;
  }, {});
  const tools = entries(value.tools, 'tools', issues).reduce<Record<string, Tool>>((acc, [raw, path, key]) => {
    const t = tool(raw, path, key, issues, opts);
    if (t) add(acc, toolPaths, t.id, t, path, 'tool', issues);
    return acc;
  }, {});

  const sources = newSourceMap();
  const workflowPaths = new Map<string, string>();
  const workflows: Record<string, Workflow> = {};
  const listed = workflowEntries(value.workflows, issues);
  // LangSwarm keeps run variables in one context: a name one workflow declares in `inputs` is
  // readable by its siblings too (they are run with the same keyword arguments).
  const docInputs = new Set(listed.flatMap(([raw]) => (isPlainObject(raw) && Array.isArray(raw.inputs) ? raw.inputs.filter((x): x is string => typeof x === 'string') : [])));
  for (const [raw, path, fallbackId] of listed) {
    const wf = workflow(raw, path, fallbackId, issues, sources, docInputs, opts.runKeywords);
    if (wf) add(workflows, workflowPaths, wf.id, wf, path, 'workflow', issues);
  }
  const first = Object.keys(workflows)[0];
  if (value.workflows !== undefined && !first && issues.ok) issues.error('workflows', 'no workflow found');
  if (!first) return undefined;
  defaultAgents(workflows, agents, agentPaths, sources, issues);
  return { document: { agents, tools, workflows, defaultWorkflow: first }, sources, workflowPaths, agentPaths, toolPaths };
}

/** A list of `{id, ...}` or a map `{id: {...}}` → [item, path, id from the map key]. */
function entries(raw: unknown, path: string, issues: IssueList): [unknown, string, string | undefined][] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) return raw.map((item, i) => [item, joinPath(path, i), undefined]);
  if (isPlainObject(raw)) return Object.entries(raw).map(([k, v]) => [v, joinPath(path, k), k]);
  issues.error(path, `${path} is a list of {id, ...} entries`);
  return [];
}

function workflowEntries(raw: unknown, issues: IssueList): [unknown, string, string][] {
  if (raw === undefined || raw === null) {
    issues.error('workflows', 'the document has no workflows');
    return [];
  }
  if (Array.isArray(raw)) return raw.map((w, i) => [w, joinPath('workflows', i), typeof w === 'string' ? `simple_workflow_${i + 1}` : `workflow_${i + 1}`]);
  if (!isPlainObject(raw)) {
    issues.error('workflows', 'workflows is a mapping: {NAME: {steps: [...]}} or main_workflow: [{id, steps}]');
    return [];
  }
  const out: [unknown, string, string][] = [];
  for (const [key, w] of Object.entries(raw)) {
    const path = joinPath('workflows', key);
    // LangSwarm V1: a list of workflows, each {id, steps}. A list whose items have no `steps`
    // is the older form where the list itself is the steps.
    if (Array.isArray(w) && w.some((item) => isPlainObject(item) && 'steps' in item)) {
      w.forEach((item, i) => out.push([item, joinPath(path, i), w.length === 1 ? key : `${key}_${i + 1}`]));
    } else if (Array.isArray(w)) {
      out.push([{ steps: w }, path, key]);
    } else {
      out.push([w, path, key]);
    }
  }
  return out;
}

function workflow(item: unknown, path: string, fallbackId: string, issues: IssueList, src: SourceMap, docInputs: ReadonlySet<string>, runKeywords: boolean): Workflow | undefined {
  const raw = typeof item === 'string' ? simpleSyntax(item, path, issues) : agentNameSteps(textWorkflowEntry(item, path, issues), path, issues);
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw)) {
    issues.error(path, 'a workflow is a mapping with steps');
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (key === 'async') issues.warn(joinPath(path, key), '"async" is ignored: independent branches always run concurrently');
    else if (WORKFLOW_IGNORED.includes(key)) issues.warn(joinPath(path, key), `workflow key "${key}" is ignored`);
    else if (key === 'continue_on_error') issues.error(joinPath(path, key), 'continue_on_error belongs to a step: set it on each step whose failure the workflow may outlive');
    else if (!WORKFLOW_KEYS.includes(key)) issues.error(joinPath(path, key), `unknown workflow key "${key}" (${WORKFLOW_KEYS.join(', ')})`);
  }
  let id = fallbackId;
  if (raw.id !== undefined) {
    if (!isValidId(raw.id)) issues.error(joinPath(path, 'id'), 'a workflow id uses letters, digits, _ and - only');
    else id = raw.id;
  } else if (!isValidId(id)) {
    issues.error(path, `workflow name "${id}" must use letters, digits, _ and - only`);
  }
  const steps = v1Loops(normalizeSteps(raw.steps, joinPath(path, 'steps'), issues, src), issues, src);
  const description = typeof raw.description === 'string' ? raw.description : undefined;
  if (raw.description !== undefined && description === undefined) issues.error(joinPath(path, 'description'), 'description is text');
  assignIds(steps, issues, src);
  const names = aliases(steps);
  runVariables(steps, [...inputNames(raw.inputs, joinPath(path, 'inputs'), issues), ...docInputs], runKeywords ? names : undefined, src, issues);
  routeByAlias(steps, names);
  return { id, ...(description !== undefined && { description }), steps, aliases: names };
}

/**
 * LangSwarm's loader also takes a text workflow as `{id, simple: "a -> b -> user"}` or
 * `{id, workflow: "..."}`: the text becomes the steps, the other keys stay.
 */
function textWorkflowEntry(item: unknown, path: string, issues: IssueList): unknown {
  if (!isPlainObject(item) || 'steps' in item) return item;
  const key = ['simple', 'workflow'].find((k) => typeof item[k] === 'string');
  if (key === undefined) return item;
  const { [key]: text, ...rest } = item;
  const generated = simpleSyntax(text as string, joinPath(path, key), issues);
  return generated && { ...rest, ...generated };
}

/**
 * LangSwarm's YAML loader takes `steps` as a list of agent names too (`steps: [reader, analyst]`):
 * a chain, each agent fed the previous one's reply, as the text workflow `reader -> analyst` is.
 * A list that mixes names and step mappings is an error: written as steps, each says what it reads.
 */
function agentNameSteps(raw: unknown, path: string, issues: IssueList): unknown {
  if (!isPlainObject(raw) || !Array.isArray(raw.steps) || !raw.steps.some((s) => typeof s === 'string')) return raw;
  const stepsPath = joinPath(path, 'steps');
  if (!raw.steps.every((s) => typeof s === 'string')) {
    issues.error(stepsPath, 'steps are either all agent names (a chain) or all step mappings, not both: write the names as steps ({id, agent, input})');
    return undefined;
  }
  const generated = simpleSyntax(raw.steps.join(' -> '), stepsPath, issues);
  return generated && { ...raw, ...generated };
}

/**
 * LangSwarm lets `output.to` (and we let `depends_on`) name an agent instead of a step: such a
 * name becomes the id of the one step that uses that agent or tool.
 */
function routeByAlias(steps: readonly Step[], names: Readonly<Record<string, string>>): void {
  const all = allSteps(steps);
  const ids = new Set(all.map((s) => s.id));
  const map = (t: string): string => (ids.has(t) || !Object.hasOwn(names, t) ? t : (names[t] as string));
  for (const s of all) {
    s.depends_on = s.depends_on.map(map);
    for (const r of s.routes) {
      if (r.kind === 'goto') r.targets = r.targets.map(map);
      else if (r.kind === 'if') {
        r.then = r.then.map(map);
        r.else = r.else.map(map);
      } else {
        for (const k of Object.keys(r.cases)) r.cases[k] = (r.cases[k] ?? []).map(map);
        if (r.default) r.default = r.default.map(map);
      }
    }
  }
}

/** Every step in a workflow, loop bodies included. */
export function allSteps(steps: readonly Step[]): Step[] {
  return steps.flatMap((s) => (s.kind === 'loop' && 'steps' in s.loop.body ? [s, ...allSteps(s.loop.body.steps)] : [s]));
}

/** Ids are unique across a workflow (bodies included); missing ones come from the agent or tool. */
function assignIds(steps: Step[], issues: IssueList, src: SourceMap): void {
  const all = allSteps(steps);
  const seen = new Map<string, string>();
  for (const s of all) {
    if (src.unnamed.has(s) || !s.id) continue;
    const path = src.steps.get(s) ?? '';
    const prior = seen.get(s.id);
    if (prior !== undefined) issues.error(joinPath(path, 'id'), `duplicate step id "${s.id}" (also at ${prior})`);
    else seen.set(s.id, path);
  }
  for (const s of all) {
    const name = src.unnamed.get(s);
    if (name === undefined) continue;
    let base = name.replace(/[^A-Za-z0-9_-]/g, '_') || 'step';
    if (RESERVED_IDS.has(base)) base = `${base}_step`;
    let id = base;
    for (let n = 2; seen.has(id); n++) id = `${base}_${n}`;
    s.id = id;
    seen.set(id, src.steps.get(s) ?? '');
  }
}

function aliases(steps: readonly Step[]): Record<string, string> {
  const users = new Map<string, string[]>();
  const all = allSteps(steps);
  for (const s of all) {
    const name = s.kind === 'agent' ? s.agent : s.kind === 'tool' ? s.tool : undefined;
    if (name) users.set(name, [...(users.get(name) ?? []), s.id]);
  }
  const ids = new Set(all.map((s) => s.id));
  const out: Record<string, string> = {};
  for (const [name, used] of users) if (used.length === 1 && !ids.has(name) && used[0]) out[name] = used[0];
  return out;
}

/**
 * Steps that name an agent no one defined get a default agent (the helpful behaviour, the node's
 * model), with a warning: LangSwarm loads such files and only fails when the step runs.
 */
function defaultAgents(workflows: Record<string, Workflow>, agents: Record<string, Agent>, paths: Map<string, string>, src: SourceMap, issues: IssueList): void {
  for (const wf of Object.values(workflows)) {
    for (const s of allSteps(wf.steps)) {
      if (s.kind !== 'agent' || Object.hasOwn(agents, s.agent) || !isValidId(s.agent)) continue;
      const defined = Object.keys(agents);
      // A near miss of a defined agent is a typo: left for the check to report as an error.
      if (isTypoOf(s.agent, defined)) continue;
      issues.warn(joinPath(src.steps.get(s) ?? '', 'agent'), `agent "${s.agent}" is not defined${defined.length ? '' : ' (no agents are defined)'}: it runs as a default agent (behavior helpful, the node's model); define it under agents`);
      agents[s.agent] = { id: s.agent, model: '', system_prompt: BEHAVIOR_PROMPTS.helpful as string };
      paths.set(s.agent, src.steps.get(s) ?? 'agents');
    }
  }
}

/**
 * LangSwarm V1 loops name a step of the same list as their body (`body: process_item`), and the
 * body reads the item as `${context.item}`: that step moves into the loop's body,
 * `${context.VAR}` becomes the loop variable, and `max` takes the first items of a longer list.
 */
function v1Loops(steps: Step[], issues: IssueList, src: SourceMap): Step[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const moved = new Set<Step>();
  for (const s of steps) {
    if (s.kind !== 'loop' || !('workflow' in s.loop.body)) continue;
    const body = byId.get(s.loop.body.workflow);
    if (!body || body === s || moved.has(body)) continue;
    moved.add(body);
    const v = s.loop.var;
    const rw = <T>(x: T): T => rewriteRefs(x, (root, rest) => (root === 'context' && (rest === `.${v}` || rest.startsWith(`.${v}.`) || rest.startsWith(`.${v}[`)) ? rest.slice(1) : undefined)) as T;
    if (body.kind === 'agent' || body.kind === 'invoke_workflow') body.input = rw(body.input);
    if (body.kind === 'tool') body.args = rw(body.args);
    if (body.routes.length) issues.warn(joinPath(src.steps.get(body) ?? '', 'output'), `step "${body.id}" is the body of loop "${s.id}" (LangSwarm V1): its output.to is ignored; the loop continues`);
    body.routes = [];
    s.loop.body = { steps: [body] };
    // V1 stops at `max` iterations: a longer list runs its first `max` items.
    if (s.loop.max !== undefined) s.loop.truncate_to_max = true;
  }
  return moved.size ? steps.filter((s) => !moved.has(s)) : steps;
}

/** Workflow `inputs:` (LangSwarm): the names of run variables read from the run's input. */
function inputNames(raw: unknown, path: string, issues: IssueList): string[] {
  if (raw === undefined) return [];
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(x))) {
    issues.error(path, 'inputs is a list of variable names');
    return [];
  }
  return list as string[];
}

/** Variable roots with a meaning of their own: never read as a run keyword. */
const RESERVED_ROOTS: ReadonlySet<string> = new Set(['user_input', 'input', 'inputs', 'context', 'env', 'loop', 'previous_output']);

/**
 * LangSwarm's run variables, rewritten into wfmesh paths: an `output_key` name → that step's
 * output; `${previous_output}` → the output of the step before (in list order); a name listed
 * in `inputs` → `${inputs.NAME}` (a field of the run's input); `${context.NAME}` → `${NAME}`;
 * `${STEP}` and `${STEP.field}` (LangSwarm's YAML loader) → `${STEP.output}`, `${STEP.output.field}`.
 *
 * Any other bare name (`${NAME}`, `${context.NAME}`: no fields) that is not a step, an agent or
 * tool used by one step, a loop variable, nor a letter or two off one (a typo stays an error), is
 * read the same way as a listed input, with a warning: LangSwarm's run_workflow puts its keyword
 * arguments into the context that `${NAME}` reads (`run_workflow("w", text, user_query=...)`),
 * and its own documentation writes `${user_data}` without declaring it. A name with fields
 * (`${process.env.HOME}`) is left to the check, which refuses it. An undeclared `${user_query}`
 * is the run input itself, as LangSwarm's current loader (V2) rewrites it. Without `aliases`
 * (the validator's runKeywords off), undeclared names are left to the check too.
 */
function runVariables(steps: Step[], inputs: readonly string[], aliases: Readonly<Record<string, string>> | undefined, src: SourceMap, issues: IssueList): void {
  const keys = new Map<string, string>();
  const ids = new Set<string>();
  const loopVars = new Set<string>();
  for (const s of allSteps(steps)) {
    ids.add(s.id);
    if (s.kind === 'loop') loopVars.add(s.loop.var);
    const k = src.outputKeys.get(s);
    if (k !== undefined) keys.set(k, s.id);
  }
  const known = [...ids, ...Object.keys(aliases ?? {}), ...loopVars, ...RESERVED_ROOTS, ...inputs];
  // A name a letter or two off a known one is a typo: left to the check, which names the near miss.
  const keyword = (name: string, tail: string): boolean =>
    aliases !== undefined && tail === '' && !known.includes(name) && !(name in Object.prototype) && !isTypoOf(name, known);
  const warned = new Set<string>();
  /** One warning per variable name and step. */
  const warnOnce = (path: string, name: string, message: string): void => {
    if (warned.has(`${path}\n${name}`)) return;
    warned.add(`${path}\n${name}`);
    issues.warn(path, message);
  };
  const rewriteList = (list: Step[]): void => {
    list.forEach((s, i) => {
      const prev = list[i - 1];
      const path = src.steps.get(s) ?? '';
      const map = (root: string, rest: string): string | undefined => {
        let name = root;
        let tail = rest;
        if (root === 'context') {
          const m = /^\.([A-Za-z_][A-Za-z0-9_-]*)(.*)$/.exec(rest);
          // The context's own fields (the check knows them) are never run keywords.
          if (!m || m[1] === 'user_input' || m[1] === 'step_outputs' || m[1] === 'idempotency_key') return undefined;
          name = m[1] as string;
          tail = m[2] ?? '';
        }
        if (name === 'previous_output') {
          if (!prev) {
            issues.error(path, '${previous_output} in the first step: there is no step before it (use ${user_input})');
            return undefined;
          }
          return `${prev.id}.output${tail}`;
        }
        // LangSwarm's YAML loader: `${STEP}` is that step's output, `${STEP.field}` a field of it.
        if (root !== 'context' && ids.has(name) && !RESERVED_ROOTS.has(name) && !loopVars.has(name) && !/^\.output(?![A-Za-z0-9_-])/.test(tail)) return `${name}.output${tail}`;
        const keyed = keys.get(name);
        if (keyed !== undefined) return `${keyed}.output${tail}`;
        if (inputs.includes(name) && name !== 'user_input') return `inputs.${name}${tail}`;
        if (!keyword(name, tail)) return undefined;
        if (name === 'user_query') {
          // LangSwarm's current loader reads an undeclared ${user_query} as the run's input.
          warnOnce(path, name, `\${${root}${rest}}: read as the run input, \${user_input}, as LangSwarm's loader reads it; list user_query under the workflow's inputs to read that field of a JSON input instead`);
          return 'user_input';
        }
        warnOnce(path, name, `\${${root}${rest}}: "${name}" is not a step, a loop variable or one of the workflow's inputs: it is read as the run input's field "${name}" (\${inputs.${name}}, null when the input has none), as LangSwarm reads a run_workflow keyword; list it under the workflow's inputs to say so, or correct the name`);
        return `inputs.${name}${tail}`;
      };
      const rw = <T>(v: T): T => rewriteRefs(v, map) as T;
      if (s.kind === 'agent' || s.kind === 'invoke_workflow') s.input = rw(s.input);
      if (s.kind === 'tool') s.args = rw(s.args);
      if (s.condition !== undefined) s.condition = rw(s.condition);
      for (const r of s.routes) {
        if (r.kind === 'if') r.if = rw(r.if);
        if (r.kind === 'switch') r.switch = rw(r.switch);
      }
      if (s.kind === 'loop') {
        s.loop.for_each = rw(s.loop.for_each);
        if ('steps' in s.loop.body) rewriteList(s.loop.body.steps);
      }
    });
  };
  rewriteList(steps);
}

function tool(given: unknown, path: string, key: string | undefined, issues: IssueList, opts: NormalizeOptions): Tool | undefined {
  if (!isPlainObject(given)) {
    issues.error(path, 'a tool is a mapping: {id, type, settings}');
    return undefined;
  }
  let raw: Record<string, unknown> = given;
  for (const k of Object.keys(raw)) if (!TOOL_KEYS.includes(k)) issues.warn(joinPath(path, k), `tool key "${k}" is ignored`);
  if (raw.settings !== undefined && !isPlainObject(raw.settings)) {
    issues.warn(joinPath(path, 'settings'), 'settings is not a mapping; it is ignored');
    raw = { ...raw, settings: undefined };
  }
  const id = raw.id ?? key;
  if (typeof id !== 'string' || !isValidId(id)) {
    issues.error(joinPath(path, 'id'), `a tool needs an id (letters, digits, _ and -), got ${describeValue(id)}`);
    return undefined;
  }
  const named = raw.type ?? (opts.knownToolTypes.includes(id) ? id : undefined);
  const type = typeof named === 'string' && Object.hasOwn(TOOL_TYPE_ALIASES, named) ? TOOL_TYPE_ALIASES[named] : named;
  if (typeof type !== 'string') {
    issues.error(joinPath(path, 'type'), `tool "${id}" needs a type (${opts.knownToolTypes.join(', ')})`);
    return undefined;
  }
  // A type wfmesh lacks only matters when a step uses the tool (checked there).
  if (!opts.knownToolTypes.includes(type)) issues.warn(joinPath(path, 'type'), `tool type "${type}" is not one wfmesh has (${opts.knownToolTypes.join(', ')}); a step that uses "${id}" will be refused`);
  if (raw.description !== undefined && typeof raw.description !== 'string') issues.error(joinPath(path, 'description'), 'description is text');
  checkTemplates(raw.settings, joinPath(path, 'settings'), issues);
  const where = raw.requires === undefined ? undefined : requires(raw.requires, joinPath(path, 'requires'), issues);
  return {
    id,
    type,
    ...(typeof raw.description === 'string' && { description: raw.description }),
    ...(isPlainObject(raw.settings) && { settings: raw.settings }),
    ...(where && { requires: where }),
  };
}

function add<T>(into: Record<string, T>, paths: Map<string, string>, id: string, item: T, path: string, what: string, issues: IssueList): void {
  const prior = paths.get(id);
  if (prior !== undefined) {
    issues.error(path, `duplicate ${what} id "${id}" (also at ${prior})`);
    return;
  }
  paths.set(id, path);
  into[id] = item;
}
