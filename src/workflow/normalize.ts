/**
 * The whole document → WorkflowDocument: `agents` and `tools` as lists or maps, `workflows` in
 * the LangSwarm V1 form (`main_workflow: [ {id, steps} ]`), the map form (`name: {steps}`) or
 * as a bare list of steps. Problems are collected, never thrown.
 */
import { joinPath, type IssueList } from './issues.js';
import { AgentSchema, isValidId, type Agent, type Step, type Tool, type Workflow, type WorkflowDocument } from './model.js';
import { checkTemplates, describeValue, newSourceMap, normalizeSteps, requires, RESERVED_IDS, type SourceMap } from './normalize-step.js';
import { isPlainObject } from './variables.js';
import { zodIssues } from './zod-issues.js';

const TOP_KEYS = ['agents', 'tools', 'workflows', 'version', 'name', 'description'];
const AGENT_KEYS = ['id', 'model', 'system_prompt', 'temperature', 'max_tokens', 'base_url', 'response_format', 'requires'];
/** LangSwarm agent keys that mean nothing here; mentioned as warnings, not errors. */
const AGENT_IGNORED = ['type', 'agent_type', 'name', 'description', 'memory', 'is_conversational', 'tools', 'behavior'];
const TOOL_KEYS = ['id', 'type', 'description', 'settings'];
const WORKFLOW_KEYS = ['id', 'name', 'description', 'steps'];

export interface NormalizeOptions {
  readonly knownToolTypes: readonly string[];
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
    if (!TOP_KEYS.includes(key)) issues.warn(joinPath('', key), `unknown top-level key "${key}" is ignored`);
  }
  const agentPaths = new Map<string, string>();
  const toolPaths = new Map<string, string>();
  const agents = entries(value.agents, 'agents', issues).reduce<Record<string, Agent>>((acc, [raw, path, key]) => {
    const a = agent(raw, path, key, issues);
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
  for (const [raw, path, fallbackId] of workflowEntries(value.workflows, issues)) {
    const wf = workflow(raw, path, fallbackId, issues, sources);
    if (wf) add(workflows, workflowPaths, wf.id, wf, path, 'workflow', issues);
  }
  const first = Object.keys(workflows)[0];
  if (value.workflows !== undefined && !first && issues.ok) issues.error('workflows', 'no workflow found');
  if (!first) return undefined;
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
  if (Array.isArray(raw)) return raw.map((w, i) => [w, joinPath('workflows', i), `workflow_${i + 1}`]);
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

function workflow(raw: unknown, path: string, fallbackId: string, issues: IssueList, src: SourceMap): Workflow | undefined {
  if (!isPlainObject(raw)) {
    issues.error(path, 'a workflow is a mapping with steps');
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (key === 'async') issues.warn(joinPath(path, key), '"async" is ignored: independent branches always run concurrently');
    else if (!WORKFLOW_KEYS.includes(key)) issues.error(joinPath(path, key), `unknown workflow key "${key}" (${WORKFLOW_KEYS.join(', ')})`);
  }
  let id = fallbackId;
  if (raw.id !== undefined) {
    if (!isValidId(raw.id)) issues.error(joinPath(path, 'id'), 'a workflow id uses letters, digits, _ and - only');
    else id = raw.id;
  } else if (!isValidId(id)) {
    issues.error(path, `workflow name "${id}" must use letters, digits, _ and - only`);
  }
  const steps = normalizeSteps(raw.steps, joinPath(path, 'steps'), issues, src);
  const description = typeof raw.description === 'string' ? raw.description : undefined;
  if (raw.description !== undefined && description === undefined) issues.error(joinPath(path, 'description'), 'description is text');
  assignIds(steps, issues, src);
  const names = aliases(steps);
  routeByAlias(steps, names);
  return { id, ...(description !== undefined && { description }), steps, aliases: names };
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

function agent(raw: unknown, path: string, key: string | undefined, issues: IssueList): Agent | undefined {
  if (!isPlainObject(raw)) {
    issues.error(path, 'an agent is a mapping: {id, model, system_prompt}');
    return undefined;
  }
  const picked: Record<string, unknown> = { id: raw.id ?? key };
  for (const [k, v] of Object.entries(raw)) {
    if (AGENT_KEYS.includes(k)) picked[k] = v;
    else if (AGENT_IGNORED.includes(k)) {
      if (k !== 'type' || !['openai', 'langchain-openai', 'llm'].includes(String(v))) issues.warn(joinPath(path, k), `agent key "${k}" is ignored (agents call an OpenAI-compatible endpoint)`);
    } else issues.error(joinPath(path, k), `unknown agent key "${k}" (${AGENT_KEYS.join(', ')})`);
  }
  if (!isValidId(picked.id)) {
    issues.error(joinPath(path, 'id'), `an agent needs an id (letters, digits, _ and -), got ${describeValue(picked.id)}`);
    return undefined;
  }
  if (picked.model === undefined) issues.error(path, `agent "${picked.id}" needs a model`);
  if (picked.requires !== undefined) picked.requires = requires(picked.requires, joinPath(path, 'requires'), issues);
  const r = AgentSchema.safeParse(picked);
  if (!r.success) {
    for (const i of zodIssues(r.error, path)) if (!(i.path.endsWith('.model') && picked.model === undefined)) issues.error(i.path, i.message);
    return undefined;
  }
  return r.data;
}

function tool(raw: unknown, path: string, key: string | undefined, issues: IssueList, opts: NormalizeOptions): Tool | undefined {
  if (!isPlainObject(raw)) {
    issues.error(path, 'a tool is a mapping: {id, type, settings}');
    return undefined;
  }
  for (const k of Object.keys(raw)) if (!TOOL_KEYS.includes(k)) issues.warn(joinPath(path, k), `tool key "${k}" is ignored`);
  const id = raw.id ?? key;
  if (typeof id !== 'string' || !isValidId(id)) {
    issues.error(joinPath(path, 'id'), `a tool needs an id (letters, digits, _ and -), got ${describeValue(id)}`);
    return undefined;
  }
  const type = raw.type ?? (opts.knownToolTypes.includes(id) ? id : undefined);
  if (typeof type !== 'string') {
    issues.error(joinPath(path, 'type'), `tool "${id}" needs a type (${opts.knownToolTypes.join(', ')})`);
    return undefined;
  }
  if (!opts.knownToolTypes.includes(type)) {
    issues.error(joinPath(path, 'type'), `unknown tool type "${type}" (known: ${opts.knownToolTypes.join(', ')})`);
    return undefined;
  }
  if (raw.settings !== undefined && !isPlainObject(raw.settings)) {
    issues.error(joinPath(path, 'settings'), 'settings is a mapping');
    return undefined;
  }
  if (raw.description !== undefined && typeof raw.description !== 'string') issues.error(joinPath(path, 'description'), 'description is text');
  checkTemplates(raw.settings, joinPath(path, 'settings'), issues);
  return {
    id,
    type,
    ...(typeof raw.description === 'string' && { description: raw.description }),
    ...(isPlainObject(raw.settings) && { settings: raw.settings }),
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
