/**
 * Checks on the normalised document that need the whole picture: references to agents, tools,
 * steps and workflows, reachability, cycles without a bound, and whether every `${...}` can
 * resolve where it is used.
 */
import { expressionVariables, parseExpression, type Expr } from './expression.js';
import { ancestors, cycles, reachable, stepGraph } from './graph.js';
import { joinPath, type IssueList } from './issues.js';
import { USER_TARGET, type Step, type Workflow, type WorkflowDocument } from './model.js';
import type { Normalized } from './normalize.js';
import { allSteps } from './normalize.js';
import { checkAgentTools } from './agent-tools.js';
import { formatPath, templateVariables, type PathSegment } from './variables.js';

export interface CheckOptions {
  readonly allowedEnv: readonly string[];
  readonly knownToolTypes: readonly string[];
  readonly stats?: ValidationStats;
}

/** Work counters, so tests can see that validation stays linear in the document. */
export interface ValidationStats {
  /** Invoke edges (invoke_workflow steps, loops over a workflow) followed by the cycle check. */
  invokeEdgesVisited: number;
  /** Ancestor sets computed for reference checks. */
  ancestorWalks: number;
}

/** What `${...}` may name at one place in a workflow. */
interface RefScope {
  /** Steps whose output exists here; computed on first use (most steps read no other step). */
  readonly visible: () => ReadonlySet<string>;
  readonly loopVars: readonly string[];
  /** Inside a loop body or an `until`: `loop.index`, `loop.item` (and `loop.output` in until). */
  readonly loopFields: readonly string[];
  /** Whether step `id` of this list may be skipped on a path that still reaches the reader. */
  readonly skippable?: (id: string) => boolean;
  /** The step list has a refused step or a dangling route: "not upstream" is not reported. */
  readonly incomplete?: boolean;
  /** Only `${env.*}` (tool settings). */
  readonly envOnly?: boolean;
  readonly where: string;
}

interface WorkflowInfo {
  readonly wf: Workflow;
  readonly ids: ReadonlySet<string>;
  /** Step id → id of the loop whose body holds it. */
  readonly parentLoop: ReadonlyMap<string, string>;
  /** Agent/tool name → ids of the steps that use it. */
  readonly users: ReadonlyMap<string, string[]>;
  readonly refused: ReadonlySet<string>;
}

export function checkDocument(n: Normalized, issues: IssueList, opts: CheckOptions): void {
  const { document: doc, sources } = n;
  const pathOf = (s: Step): string => sources.steps.get(s) ?? '';
  for (const tool of Object.values(doc.tools)) {
    const path = joinPath(n.toolPaths.get(tool.id) ?? 'tools', 'settings');
    checkValue(tool.settings, path, { visible: () => new Set(), loopVars: [], loopFields: [], envOnly: true, where: `tool ${tool.id}` }, undefined, issues, opts);
  }
  for (const wf of Object.values(doc.workflows)) {
    const all = allSteps(wf.steps);
    const parentLoop = new Map<string, string>();
    const users = new Map<string, string[]>();
    for (const s of all) {
      if (s.kind === 'loop' && 'steps' in s.loop.body) for (const b of s.loop.body.steps) parentLoop.set(b.id, s.id);
      const name = s.kind === 'agent' ? s.agent : s.kind === 'tool' ? s.tool : undefined;
      if (name) users.set(name, [...(users.get(name) ?? []), s.id]);
    }
    const info: WorkflowInfo = { wf, ids: new Set(all.map((s) => s.id)), parentLoop, users, refused: sources.refused };
    checkSteps(wf.steps, () => new Set(), [], info, doc, n, issues, opts, pathOf);
  }
  checkInvokeCycles(doc, issues, pathOf, opts.stats);
  checkAgentTools(doc, n.agentPaths, opts.knownToolTypes, issues);
}

function checkSteps(
  steps: readonly Step[],
  outerVisible: () => ReadonlySet<string>,
  loopVars: readonly string[],
  info: WorkflowInfo,
  doc: WorkflowDocument,
  n: Normalized,
  issues: IssueList,
  opts: CheckOptions,
  pathOf: (s: Step) => string,
): void {
  const g = stepGraph(steps);
  // A refused step or a route to nowhere leaves the graph incomplete: reachability and "not
  // upstream" would only repeat that one problem, so they are not reported for this list.
  const incomplete = g.dangling.length > 0 || steps.some((s) => n.sources.refused.has(`${s.id}\u0000routes`));
  for (const d of g.dangling) {
    if (n.sources.refused.has(d.target)) continue;
    const path = joinPath(pathOf(d.step), d.via === 'route' ? 'output' : 'depends_on');
    const where = info.ids.has(d.target) ? ` (it is not in the same ${loopVars.length ? 'loop body' : 'step list'})` : suggest(d.target, [...g.order, USER_TARGET]);
    if (d.target === d.step.id) issues.error(path, `step "${d.target}" cannot depend on itself`);
    else if (d.via === 'route') issues.fault(path, `output.to names unknown step "${d.target}"${where}: a run that takes this route fails there`);
    else issues.error(path, `depends_on names unknown step "${d.target}"${where}`);
  }
  const live = reachable(g);
  for (const id of g.order) {
    if (live.has(id) || incomplete) continue;
    const s = g.steps.get(id) as Step;
    const hint = s.condition !== undefined ? ' (its condition only decides whether it runs once reached: route to it with output.to)' : '';
    issues.error(pathOf(s), `step "${id}" is never reached: no step routes to it or lists it in depends_on${hint}`);
  }
  const loops = cycles(g);
  for (const { edge, members } of loops) {
    const bounded = members.some((id) => g.steps.get(id)?.max_visits !== undefined);
    if (bounded) continue;
    const s = g.steps.get(edge.from) as Step;
    issues.error(joinPath(pathOf(s), 'output'), `cycle ${[...members, edge.to].join(' → ')} has no loop bound: set max_visits on one of its steps, or use a loop step`);
  }
  const inCycle = new Set(loops.flatMap((c) => c.members));
  const loopFields = loopVars.length ? ['index', 'item'] : [];
  // Steps reachable from the roots when step X is left out: a reader among them may run after a
  // branch that skipped X. Computed once per step that something reads.
  const without = new Map<string, Set<string>>();
  const bypass = (x: string): Set<string> => {
    let set = without.get(x);
    if (!set) {
      // A step that always leads to x (a plain `to: [x, ...]`, depends_on, the sequence) cannot run
      // without x running too, unless x has a condition of its own.
      const forced = g.steps.get(x)?.condition === undefined;
      const leadsToX = (from: string): boolean =>
        forced && ((g.out.get(from) ?? []).some((e) => e.to === x && e.always && !e.back) || (g.steps.get(from)?.routes.some((r) => r.kind === 'goto' && r.targets.includes(x)) ?? false));
      set = new Set(g.roots.filter((r) => r !== x && !leadsToX(r)));
      // A step reached by a route runs; one that waits (depends_on, sequence) needs all it waits for.
      const waiting = new Map<string, number>();
      const todo = [...set];
      while (todo.length) {
        for (const e of g.out.get(todo.pop() as string) ?? []) {
          if (e.back || e.to === x || set.has(e.to) || leadsToX(e.to)) continue;
          if (e.always) {
            const need = (g.in.get(e.to) ?? []).filter((i) => i.always).length;
            const got = (waiting.get(e.to) ?? 0) + 1;
            waiting.set(e.to, got);
            if (got < need) continue;
          }
          set.add(e.to);
          todo.push(e.to);
        }
      }
      without.set(x, set);
    }
    return set;
  };

  for (const s of steps) {
    const path = pathOf(s);
    if (s.max_visits !== undefined && !inCycle.has(s.id)) issues.warn(joinPath(path, 'max_visits'), 'max_visits has no effect: the step is not in a cycle');
    const visible = lazy(() => {
      if (opts.stats) opts.stats.ancestorWalks++;
      return new Set([...outerVisible(), ...ancestors(g, s.id)]);
    });
    const skippable = (id: string): boolean => g.steps.has(id) && id !== s.id && bypass(id).has(s.id);
    // A step never reached has nothing upstream: that one error is enough, its references are not "not upstream".
    const unsure = incomplete || !live.has(s.id);
    const scope: RefScope = { visible, loopVars, loopFields, where: `step "${s.id}"`, skippable, ...(unsure && { incomplete: true }) };
    const withSelf: RefScope = { ...scope, visible: lazy(() => new Set([...visible(), s.id])) };
    if (s.condition !== undefined) checkCondition(s.condition, joinPath(path, 'condition'), scope, info, issues, opts, s);
    for (const r of s.routes) {
      const rp = n.sources.routes.get(r) ?? joinPath(path, 'output');
      if (r.kind === 'if') checkCondition(r.if, rp, withSelf, info, issues, opts, s);
      if (r.kind === 'switch') {
        checkCondition(r.switch, joinPath(rp, 'switch'), withSelf, info, issues, opts, s);
        if (r.default === undefined) issues.warn(rp, 'switch has no default: a value that matches no case fails the step');
      }
    }
    if (s.kind === 'agent') {
      const agent = doc.agents[s.agent];
      if (!agent || !Object.hasOwn(doc.agents, s.agent)) fault(s, joinPath(path, 'agent'), `unknown agent "${s.agent}"${suggest(s.agent, Object.keys(doc.agents))}${known('agents', Object.keys(doc.agents))}`, issues);
      checkValue(s.input, joinPath(path, 'input'), scope, info, issues, opts, s);
    } else if (s.kind === 'tool' && s.fault !== undefined) {
      // A LangSwarm function wfmesh cannot run: reported where it was read; its args are gone.
    } else if (s.kind === 'tool') {
      const declared = Object.hasOwn(doc.tools, s.tool) ? doc.tools[s.tool] : undefined;
      if (declared && !opts.knownToolTypes.includes(declared.type)) {
        issues.error(joinPath(path, 'tool'), `tool "${s.tool}" has type "${declared.type}", which wfmesh does not have (${opts.knownToolTypes.join(', ')})`);
      } else if (!declared && s.mesh_tool && !opts.knownToolTypes.includes(s.tool)) {
        issues.warn(joinPath(path, 'tool'), `local://${s.tool}: runs on a node that offers the tool "${s.tool}" (not a wfmesh built-in: ${opts.knownToolTypes.join(', ')})`);
      } else if (!declared && !opts.knownToolTypes.includes(s.tool)) {
        issues.error(joinPath(path, 'tool'), `unknown tool "${s.tool}"${suggest(s.tool, [...Object.keys(doc.tools), ...opts.knownToolTypes])}${known('tools', Object.keys(doc.tools))}; built-in types can be named directly: ${opts.knownToolTypes.join(', ')}`);
      }
      checkValue(s.args, joinPath(path, 'args'), scope, info, issues, opts, s);
    } else if (s.kind === 'invoke_workflow') {
      if (!Object.hasOwn(doc.workflows, s.workflow)) issues.error(joinPath(path, 'invoke_workflow'), `unknown workflow "${s.workflow}"${suggest(s.workflow, Object.keys(doc.workflows))}${known('workflows', Object.keys(doc.workflows))}`);
      if (s.input !== undefined) checkValue(s.input, joinPath(path, 'input'), scope, info, issues, opts, s);
    } else {
      const lp = joinPath(path, 'loop');
      if (s.loop.for_each !== undefined) checkValue(s.loop.for_each, joinPath(lp, 'for_each'), scope, info, issues, opts, s);
      if (info.ids.has(s.loop.var) || Object.hasOwn(info.wf.aliases, s.loop.var)) {
        issues.error(joinPath(lp, 'var'), `loop variable "${s.loop.var}" has the name of a step; choose another`);
      }
      const vars = [...loopVars, s.loop.var];
      if ('workflow' in s.loop.body) {
        const body = s.loop.body.workflow;
        if (!Object.hasOwn(doc.workflows, body) && info.ids.has(body)) {
          // LangSwarm V1 names a step as the body; here a string body is a workflow to invoke.
          issues.error(joinPath(lp, 'body'), `"${body}" is a step of this workflow: LangSwarm's V1 loop (a step id as body, output.collect, \${context.item}) is not supported; move the step under body: [...] and read the item as \${${s.loop.var}} (the loop's output is the list of iteration outputs)`);
        } else if (!Object.hasOwn(doc.workflows, body)) issues.error(joinPath(lp, 'body'), `unknown workflow "${body}"${known('workflows', Object.keys(doc.workflows))}`);
      } else {
        checkSteps(s.loop.body.steps, visible, vars, info, doc, n, issues, opts, pathOf);
      }
      if (s.loop.until !== undefined) {
        const bodyIds = 'steps' in s.loop.body ? s.loop.body.steps.map((b) => b.id) : [];
        const untilScope: RefScope = { visible: lazy(() => new Set([...visible(), ...bodyIds])), loopVars: vars, loopFields: ['index', 'item', 'output'], where: `loop "${s.id}"` };
        checkCondition(s.loop.until, joinPath(lp, 'until'), untilScope, info, issues, opts, s);
      }
    }
  }
}

/**
 * A step that cannot run as written, the way LangSwarm treats it: the file loads and a run that
 * reaches the step fails with this message (validation warns; `strict` makes it an error).
 */
function fault(step: Step, path: string, message: string, issues: IssueList): void {
  issues.fault(path, `${message}: a run that reaches step "${step.id}" fails there`);
  step.fault ??= message;
}

/** An unresolvable variable: a fault of `step` when it names no step at all, else an error. */
function reportRef(why: RefProblem, path: string, text: string, issues: IssueList, step: Step | undefined): void {
  if (why.missingStep && step) fault(step, path, `\${${text}}: ${why.message}`, issues);
  else issues.error(path, `\${${text}}: ${why.message}`);
}

function checkCondition(text: string, path: string, scope: RefScope, info: WorkflowInfo, issues: IssueList, opts: CheckOptions, step: Step): void {
  let e: Expr;
  try {
    e = parseExpression(text);
  } catch {
    return; // already reported by the parser
  }
  for (const v of expressionVariables(e)) {
    const why = refProblem(v.path, scope, info, opts);
    if (why) reportRef(why, path, formatPath(v.path), issues, step);
  }
}

function checkValue(value: unknown, path: string, scope: RefScope, info: WorkflowInfo | undefined, issues: IssueList, opts: CheckOptions, step?: Step): void {
  let refs;
  try {
    refs = templateVariables(value);
  } catch {
    return; // syntax problems are reported by the parser
  }
  for (const r of refs) {
    const why = refProblem(r.path, scope, info, opts);
    if (why) reportRef(why, path, r.text, issues, step);
    else if (info && scope.skippable && !scope.incomplete) {
      const id = stepOf(r.path, info);
      if (id !== undefined && scope.skippable(id)) {
        issues.warn(path, `\${${r.text}}: step "${id}" may be skipped (a condition can route around it) and ${scope.where} still runs, so this would fail: read it only on the branch that runs "${id}" (route from "${id}" to a step of its own), or test it first with an "exists" condition`);
      }
    }
  }
}

/** The step whose output a variable reads (`X.output...`, `context.step_outputs.X`), if any. */
function stepOf(path: readonly PathSegment[], info: WorkflowInfo): string | undefined {
  const [root, second, third] = path;
  const name = root === 'context' && second === 'step_outputs' ? third : second === 'output' ? root : undefined;
  if (typeof name !== 'string') return undefined;
  return info.ids.has(name) ? name : Object.hasOwn(info.wf.aliases, name) ? info.wf.aliases[name] : undefined;
}

interface RefProblem {
  readonly message: string;
  /** The variable names no step of the workflow (LangSwarm fails only when it is read). */
  readonly missingStep?: boolean;
}

/** Why a variable cannot resolve at this place, or undefined when it can. */
function refProblem(path: readonly PathSegment[], scope: RefScope, info: WorkflowInfo | undefined, opts: CheckOptions): RefProblem | undefined {
  const why = refText(path, scope, info, opts);
  return typeof why === 'string' ? { message: why } : why;
}

function refText(path: readonly PathSegment[], scope: RefScope, info: WorkflowInfo | undefined, opts: CheckOptions): string | RefProblem | undefined {
  const [root, second, third] = path;
  const name = String(root);
  if (name === 'env') {
    if (typeof second !== 'string' || path.length !== 2) return 'use ${env.NAME}';
    if (!opts.allowedEnv.includes(second)) {
      return `environment variable ${second} is not allowed here (allowed: ${opts.allowedEnv.length ? opts.allowedEnv.join(', ') : 'none'})`;
    }
    return undefined;
  }
  if (scope.envOnly || !info) return 'tool settings may only use ${env.NAME}';
  if (scope.loopVars.includes(name)) return undefined;
  if (name === 'loop') {
    if (!scope.loopFields.length) return '${loop.*} is only defined inside a loop body';
    if (typeof second !== 'string' || !scope.loopFields.includes(second)) return `loop has ${scope.loopFields.join(', ')}`;
    return undefined;
  }
  if (name === 'user_input' || name === 'input') return undefined;
  if (name === 'inputs') return typeof second === 'string' ? undefined : 'use ${inputs.NAME} (a field of the run input)';
  if (name === 'context') {
    if (second === 'user_input') return undefined;
    if (second === 'idempotency_key') return path.length === 2 ? undefined : 'context.idempotency_key is a text, it has no fields';
    if (second !== 'step_outputs') return 'context has user_input, step_outputs and idempotency_key only';
    if (third === undefined) return undefined; // the whole map: every output so far
    if (typeof third !== 'string') return 'use ${context.step_outputs.STEP_ID}';
    return stepProblem(third, scope, info);
  }
  if (second !== 'output') {
    if (info.refused.has(name)) return undefined; // the output_key of a refused step: reported there
    if (info.ids.has(name) || Object.hasOwn(info.wf.aliases, name)) return `use \${${name}.output} for the output of step "${name}"`;
    const hint = suggest(name, [...scope.visible(), ...scope.loopVars, 'user_input', 'context', 'env']);
    return `"${name}" is not a variable here: use user_input, context.*, STEP.output, env.NAME${scope.loopVars.length ? ' or the loop variable' : ''}${hint}`;
  }
  return stepProblem(name, scope, info);
}

function stepProblem(name: string, scope: RefScope, info: WorkflowInfo): string | RefProblem | undefined {
  if (info.refused.has(name)) return undefined;
  let id = name;
  if (!info.ids.has(name)) {
    const users = info.users.get(name) ?? [];
    if (users.length > 1) return `"${name}" is used by steps ${users.join(', ')}: name one of them by its id`;
    const alias = info.wf.aliases[name];
    if (alias === undefined || !Object.hasOwn(info.wf.aliases, name)) return { message: `no step "${name}" in workflow "${info.wf.id}"${suggest(name, [...info.ids])}`, missingStep: true };
    id = alias;
  }
  if (scope.visible().has(id)) return undefined;
  const loop = info.parentLoop.get(id);
  if (loop !== undefined) {
    return `step "${id}" is inside the body of loop "${loop}"; outside it, use \${${loop}.output} (the list of iteration outputs)`;
  }
  if (scope.incomplete) return undefined;
  return `step "${id}" is not upstream of ${scope.where}, so its output may not exist yet`;
}

function checkInvokeCycles(doc: WorkflowDocument, issues: IssueList, pathOf: (s: Step) => string, stats?: ValidationStats): void {
  const calls = new Map<string, { to: string; step: Step }[]>();
  for (const wf of Object.values(doc.workflows)) {
    const list: { to: string; step: Step }[] = [];
    for (const s of allSteps(wf.steps)) {
      if (s.kind === 'invoke_workflow') list.push({ to: s.workflow, step: s });
      if (s.kind === 'loop' && 'workflow' in s.loop.body) list.push({ to: s.loop.body.workflow, step: s });
    }
    calls.set(wf.id, list);
  }
  // Depth-first search with colours: each workflow is entered once and each call edge followed
  // once, so a document of workflows that invoke the next layer twice costs what it holds, not
  // the 2^layers paths through it. A call into a workflow still on the stack closes a cycle.
  const state = new Map<string, 'open' | 'done'>();
  const reported = new Set<Step>();
  for (const start of Object.keys(doc.workflows)) {
    if (state.has(start)) continue;
    const trail = [start];
    const stack: { id: string; i: number }[] = [{ id: start, i: 0 }];
    state.set(start, 'open');
    while (stack.length) {
      const top = stack[stack.length - 1] as { id: string; i: number };
      const c = calls.get(top.id)?.[top.i++];
      if (!c) {
        state.set(top.id, 'done');
        stack.pop();
        trail.pop();
        continue;
      }
      if (stats) stats.invokeEdgesVisited++;
      const st = state.get(c.to);
      if (st === 'open' && !reported.has(c.step)) {
        reported.add(c.step);
        issues.error(pathOf(c.step), `workflows invoke each other in a cycle: ${[...trail.slice(trail.indexOf(c.to)), c.to].join(' → ')}`);
      } else if (st === undefined && calls.has(c.to)) {
        state.set(c.to, 'open');
        stack.push({ id: c.to, i: 0 });
        trail.push(c.to);
      }
    }
  }
}

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      v = make();
      done = true;
    }
    return v as T;
  };
}

function known(what: string, names: string[]): string {
  return names.length ? ` (${what} defined: ${names.slice(0, 20).join(', ')})` : ` (no ${what} are defined)`;
}

/** ` (did you mean "x"?)` for a near miss. */
export function suggest(name: string, options: string[]): string {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const o of options) {
    const d = distance(name.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best !== undefined && best !== name ? ` (did you mean "${best}"?)` : '';
}

/** Whether `name` is one or two letters off a name in `options` (a typo, not another name). */
export function isTypoOf(name: string, options: readonly string[]): boolean {
  return options.some((o) => o !== name && distance(name.toLowerCase(), o.toLowerCase()) <= 2);
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 99;
}
