/**
 * LangSwarm spellings that need more than a rename: `behavior` presets, the simple
 * `a -> b -> user` syntax, `function: mcp_call` steps, and the run variables LangSwarm keeps in
 * its context (`output_key` names, `${previous_output}`, named `inputs`). Each is turned into
 * the one wfmesh model, so the engine never sees LangSwarm forms.
 */
import { joinPath, type IssueList } from './issues.js';
import { fromJsonText, isPlainObject } from './variables.js';

/**
 * `behavior:` presets → the system prompt an agent gets when it has none (LangSwarm generates a
 * long prompt per behavior; these are short equivalents). Documented in config/workflows/README.md.
 */
export const BEHAVIOR_PROMPTS: Readonly<Record<string, string>> = {
  helpful: 'You are a helpful assistant. Answer accurately and concisely; say so when you are unsure.',
  analytical: 'You are an analyst. Break the problem down, reason from evidence, and state conclusions with their grounds.',
  research: 'You are a researcher. Gather the relevant facts, compare sources, and summarise findings with their limits.',
  coding: 'You are a software engineer. Write correct, idiomatic code and explain only what is not obvious.',
  creative: 'You are a creative writer. Produce original, vivid text that fits the requested tone and form.',
  support: 'You are a customer support agent. Be courteous, solve the problem step by step, and escalate what you cannot solve.',
  conversational: 'You are a friendly conversational partner. Keep replies natural and to the point.',
  educational: 'You are a teacher. Explain clearly, build from basics, and check understanding with examples.',
};

/** Tool types LangSwarm's MCP tools had that are wfmesh built-ins under another name. */
export const TOOL_TYPE_ALIASES: Readonly<Record<string, string>> = { mcpfilesystem: 'filesystem' };

/** The `${...}` reference pattern: root name, then the rest of the path. `$${` is literal. */
const REF = /(^|[^$])\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)((?:\s*(?:\.[A-Za-z0-9_-]+|\[\d+\]))*)\s*\}/g;

/** Rewrites the root of every `${ROOT...}` in every string of a value (`map` returns the new root path or undefined). */
export function rewriteRefs(value: unknown, map: (root: string, rest: string) => string | undefined, depth = 0): unknown {
  if (depth > 64) return value;
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(REF, (all, pre: string, root: string, rest: string) => {
      const to = map(root, rest.replace(/\s+/g, ''));
      return to === undefined ? all : `${pre}\${${to}}`;
    });
  }
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, map, depth + 1));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteRefs(v, map, depth + 1)]));
  return value;
}

/**
 * LangSwarm's text workflows: `a -> b -> user` (a chain, each agent fed the previous output; the
 * final `-> user` may be left out),
 * `a, b -> c -> user` (a and b in parallel on the input, c fed both) and
 * `router -> (x | y) -> user` (the router's reply names the agent that answers).
 */
export function simpleSyntax(text: string, path: string, issues: IssueList): Record<string, unknown> | undefined {
  const stages = text.split('->').map((p) => p.trim());
  const bad = (why: string): undefined => {
    issues.error(path, `"${text}": ${why}; write it as steps`);
    return undefined;
  };
  // LangSwarm returns the last agent's reply whether or not the text ends with `-> user`.
  if (stages.at(-1) !== 'user') stages.push('user');
  if (stages.length < 2 || stages.some((p) => !p) || stages.slice(0, -1).includes('user')) return bad('a text workflow is "agent -> agent -> user"; user comes last');
  const parsed = stages.slice(0, -1).map((stage) => {
    const cond = /^\((.*)\)$/.exec(stage);
    const names = (cond ? (cond[1] as string).split('|') : stage.split(',')).map((n) => n.trim());
    return { kind: cond ? 'choice' : names.length > 1 ? 'parallel' : 'one', names };
  });
  if (parsed.some((p) => p.names.some((n) => !/^[A-Za-z0-9_-]+$/.test(n)))) return bad('each name is an agent id (letters, digits, _ and -)');
  const choiceAt = parsed.findIndex((p) => p.kind === 'choice');
  if (choiceAt >= 0 && (choiceAt !== parsed.length - 1 || choiceAt === 0 || parsed[choiceAt - 1]?.kind !== 'one')) {
    return bad('a choice (x | y) comes last, after one routing agent');
  }
  const steps: Record<string, unknown>[] = [];
  let prev: string[] = [];
  let n = 0;
  const input = (): string => (prev.length === 0 ? '${user_input}' : prev.map((id) => `\${${id}.output}`).join('\n\n'));
  for (const [i, stage] of parsed.entries()) {
    const last = i === parsed.length - 1;
    if (stage.kind === 'choice') {
      // The router (the step before) picks: its reply that names an agent selects that agent.
      const router = steps.at(-1) as Record<string, unknown>;
      if (stage.names.length !== 2) return bad('a choice is between two agents, (x | y); for more, route with a switch condition');
      const ids = stage.names.map((a) => `step_${++n}_${a}`);
      const [x, y] = ids as [string, string];
      router.output = { to: [{ condition: { if: `'\${${router.id as string}.output}' contains '${stage.names[0] as string}'`, then: x, else: y } }] };
      stage.names.forEach((a, k) => steps.push({ id: ids[k], agent: a, input: `\${${router.id as string}.output}`, depends_on: [], output: { to: 'user' } }));
      continue;
    }
    const ids = stage.names.map((a) => `step_${++n}_${a}`);
    stage.names.forEach((a, k) => steps.push({ id: ids[k], agent: a, input: input(), depends_on: [...prev], ...(last && { output: { to: 'user' } }) }));
    prev = ids;
  }
  // depends_on makes the list a graph: parallel stages start together and the next waits for both.
  return { steps: steps.map((s) => ((s.depends_on as string[]).length ? s : { ...s, depends_on: undefined })) };
}

/**
 * What `function: mcp_call` (and kin) becomes: the keys of a tool step. A function wfmesh cannot
 * run becomes a step with a `fault`: LangSwarm loads such a file and fails when a run reaches the
 * step, and so does wfmesh (validation warns, `--strict` refuses).
 */
export function functionStep(raw: Record<string, unknown>, path: string, issues: IssueList): Record<string, unknown> {
  const fp = joinPath(path, 'function');
  const fn = typeof raw.function === 'string' ? raw.function.slice(raw.function.lastIndexOf('.') + 1) : '';
  const args = isPlainObject(raw.args) ? raw.args : {};
  const refuse = (at: string, why: string): Record<string, unknown> => {
    issues.fault(at, why);
    return { tool: /^[A-Za-z0-9_-]{1,64}$/.test(fn) ? fn : 'function', args: {}, fault: why };
  };
  if (fn === 'await_all_ready') {
    // LangSwarm's fan-in barrier: it answers "ready" once every step in args.steps has an output.
    issues.warn(fp, 'await_all_ready is not needed: a step that several routes lead to waits for every branch that was taken; it runs as a step whose output is "ready"');
    return { tool: 'transform', method: 'template', args: { template: 'ready' } };
  }
  if (fn !== 'mcp_call') {
    return refuse(
      fp,
      fn === 'mcp_fetch_schema'
        ? 'mcp_fetch_schema is not needed: wfmesh tools are called by name and method; give the agent the methods it may choose in its prompt'
        : `Python function "${String(raw.function)}" cannot run in wfmesh: use a tool step (transform, shell, http, mcpremote) or function: mcp_call`,
    );
  }
  const url = args.mcp_url;
  if (typeof url !== 'string' || url.includes('${')) {
    return refuse(joinPath(path, 'args'), 'mcp_call needs a fixed args.mcp_url: local://TOOL (a tool the mesh offers) or http(s)://HOST/mcp (a remote MCP server)');
  }
  const payload = args.payload;
  const params = isPlainObject(payload) && isPlainObject(payload.params) ? payload.params : payload;
  const name = isPlainObject(params) ? (params.name ?? params.tool) : (args.name ?? args.task ?? args.tool);
  // LangSwarm's local mode reads `arguments` or `args`, and parses them when they are JSON text.
  const named = isPlainObject(params) && ('arguments' in params || 'args' in params || 'name' in params);
  const callArgs = named ? fixedJsonObject(params.arguments ?? params.args ?? {}) : (params ?? args.input ?? args.arguments ?? {});
  const m = /^([a-z+]+):\/\/(.+)$/.exec(url);
  if (m?.[1] === 'local') {
    const tool = m[2] as string;
    if (!/^[A-Za-z0-9_-]+$/.test(tool)) return refuse(joinPath(joinPath(path, 'args'), 'mcp_url'), `local://${tool}: a tool name uses letters, digits, _ and -`);
    const method = typeof name === 'string' && !name.includes('${') ? name : undefined;
    // A payload decided at run time (an agent's JSON) goes to the tool whole.
    return { tool, ...(method && { method }), args: method ? callArgs : (payload ?? callArgs), mesh_tool: true };
  }
  if (m?.[1] === 'http' || m?.[1] === 'https') {
    return { tool: 'mcpremote', method: 'call', args: { mcp_url: url, tool: name ?? '', arguments: callArgs } };
  }
  if (m?.[1] === 'stdio') {
    return refuse(joinPath(joinPath(path, 'args'), 'mcp_url'), `${url}: wfmesh does not start MCP servers over stdio in a step (a workflow would run programs on a node); serve it over HTTP and use mcp_url: http://HOST/mcp (mcpremote)`);
  }
  return refuse(joinPath(joinPath(path, 'args'), 'mcp_url'), `"${url}" is not local://TOOL, http(s):// or stdio://`);
}

/** Fixed JSON text of an object (`arguments: '{"path": "a"}'`) → the object; text with variables stays text. */
function fixedJsonObject(v: unknown): unknown {
  if (typeof v === 'string' && v.includes('${')) return v;
  const parsed = fromJsonText(v);
  return isPlainObject(parsed) ? parsed : v;
}
