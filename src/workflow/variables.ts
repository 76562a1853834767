/**
 * `${...}` variables: parsing templates, and resolving them against a scope. Pure.
 *
 * A variable is a path, never code: `user_input`, `context.user_input`,
 * `context.step_outputs.ID[.field...]`, `ID.output[.field...]`, `env.NAME`, the loop variable and
 * `loop.index` / `loop.item`. Only own properties of plain objects and arrays are followed, so
 * nothing reaches prototypes, and a path that cannot resolve is an error, never a leftover.
 */

export type PathSegment = string | number;

/** One `${...}` occurrence inside a string. */
export interface VariableRef {
  /** The text between the braces, trimmed. */
  readonly text: string;
  readonly path: readonly PathSegment[];
}

export type TemplatePart = { readonly text: string } | { readonly ref: VariableRef };

/** A `${...}` that is not a valid variable, or that cannot resolve in its scope. */
export class VariableError extends Error {
  override readonly name = 'VariableError';
  constructor(
    message: string,
    readonly variable?: string,
  ) {
    super(message);
  }
}

const MAX_SEGMENTS = 32;
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);
const IDENT = /[A-Za-z_][A-Za-z0-9_-]*/y;
const DIGITS = /\d+/y;

/** Parses the inside of `${...}` into path segments; throws VariableError. */
export function parseVariablePath(text: string): PathSegment[] {
  const src = text.trim();
  const path: PathSegment[] = [];
  let pos = 0;
  const fail = (why: string): never => {
    throw new VariableError(`\${${src}} is not a valid variable: ${why}`, src);
  };
  const ident = (): string => {
    IDENT.lastIndex = pos;
    const m = IDENT.exec(src);
    if (!m) return fail(`expected a name at position ${pos + 1}`);
    pos = IDENT.lastIndex;
    return m[0];
  };
  const digits = (): number => {
    DIGITS.lastIndex = pos;
    const m = DIGITS.exec(src);
    if (!m) return fail(`expected an index at position ${pos + 1}`);
    pos = DIGITS.lastIndex;
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) fail('index too large');
    return n;
  };
  if (!src) fail('it is empty');
  path.push(ident());
  while (pos < src.length) {
    const c = src[pos];
    if (c === '.') {
      pos++;
      path.push(/\d/.test(src[pos] ?? '') ? digits() : ident());
    } else if (c === '[') {
      pos++;
      path.push(digits());
      if (src[pos] !== ']') fail(`expected ] at position ${pos + 1}`);
      pos++;
    } else {
      fail(`unexpected "${c}" at position ${pos + 1} (only names, .field and [index] are allowed)`);
    }
    if (path.length > MAX_SEGMENTS) fail(`more than ${MAX_SEGMENTS} parts`);
  }
  for (const seg of path) {
    if (typeof seg === 'string' && FORBIDDEN.has(seg)) fail(`"${seg}" is outside any variable's scope`);
  }
  return path;
}

/**
 * Splits a string into text and variables. `$${` is a literal `${`. Throws VariableError on an
 * unterminated or invalid variable.
 */
export function parseTemplate(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    const at = s.indexOf('${', i);
    if (at < 0) {
      text += s.slice(i);
      break;
    }
    if (at > 0 && s[at - 1] === '$') {
      text += s.slice(i, at - 1) + '${';
      i = at + 2;
      continue;
    }
    text += s.slice(i, at);
    const end = s.indexOf('}', at + 2);
    if (end < 0) throw new VariableError(`unterminated variable "${clip(s.slice(at))}": missing }`);
    const inner = s.slice(at + 2, end);
    if (text) parts.push({ text });
    text = '';
    parts.push({ ref: { text: inner.trim(), path: parseVariablePath(inner) } });
    i = end + 1;
  }
  if (text) parts.push({ text });
  return parts;
}

/** Every variable in a value (strings inside objects and lists too); throws VariableError. */
export function templateVariables(value: unknown): VariableRef[] {
  const out: VariableRef[] = [];
  walkStrings(value, (s) => {
    for (const p of parseTemplate(s)) if ('ref' in p) out.push(p.ref);
  });
  return out;
}

/** What the scope knows of one step. */
export type StepView =
  | { readonly status: 'completed' | 'failed'; readonly output: unknown }
  | { readonly status: 'pending' | 'running' | 'skipped' | 'cancelled' };

/** What `${...}` may see. Everything else is out of scope. */
export interface VariableScope {
  /** The execution input (`${user_input}`, `${context.user_input}`). */
  readonly input: unknown;
  /** A step of this scope by id, or undefined when no such step is in scope. */
  step(id: string): StepView | undefined;
  /** `${context.step_outputs}` as a whole: every output so far in scope, by step id. */
  outputs?(): Record<string, unknown>;
  /** `${NAME.output}` shorthand: agent or tool name → step id. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Values of `${env.NAME}`, only for allowed names. */
  readonly env?: Readonly<Record<string, string>>;
  /** Loop variable(s) and `loop`. */
  readonly locals?: Readonly<Record<string, unknown>>;
  /** `${context.idempotency_key}`: the key of the attempt being built. */
  readonly idempotencyKey?: string;
  /**
   * Set where a condition that cannot resolve a variable takes its else branch, as in LangSwarm
   * (a route's `if`, a step's `condition`); told which variable and why, so the engine can record
   * it. `as_text`: the variable was quoted (`'${x.output.kind}' == 'bug'`) and compared as
   * written; `false`: the whole condition was taken as false.
   */
  readonly onMissing?: (variable: string, reason: string, effect: 'as_text' | 'false') => void;
}

export type Lookup = { found: true; value: unknown } | { found: false; reason: string };

/** Looks a variable up; a miss says why. Only an invalid path throws. */
export function lookupVariable(path: readonly PathSegment[], scope: VariableScope): Lookup {
  // slice, not `[root, ...rest]`: a rest pattern walks the array through its iterator (every step's templates come here).
  const root = path[0];
  const rest = path.slice(1);
  const name = typeof root === 'string' ? root : String(root);
  const locals = scope.locals;
  if (locals && Object.hasOwn(locals, name)) return dig(locals[name], rest, name);
  if (name === 'user_input' || name === 'input') return dig(scope.input, rest, name);
  if (name === 'inputs') {
    // LangSwarm named run variables: a field of the run's input, or nothing (LangSwarm's None).
    const [field, ...more] = rest;
    if (typeof field !== 'string') return miss('use ${inputs.NAME}');
    const input = fromJsonText(scope.input);
    if (isPlainObject(input) && Object.hasOwn(input, field)) return dig(input[field], more, `inputs.${field}`);
    return { found: true, value: null };
  }
  if (name === 'context') {
    const [field, ...more] = rest;
    if (field === 'user_input') return dig(scope.input, more, 'context.user_input');
    if (field === 'idempotency_key' && more.length === 0) {
      return scope.idempotencyKey === undefined ? miss('context.idempotency_key exists only in agent and tool steps') : { found: true, value: scope.idempotencyKey };
    }
    if (field === 'step_outputs') {
      const [id, ...fields] = more;
      // LangSwarm passes the whole map too (an agent that summarises everything so far).
      if (id === undefined && scope.outputs) return { found: true, value: scope.outputs() };
      if (typeof id !== 'string') return miss('context.step_outputs needs a step id');
      return stepOutput(id, fields, scope, `context.step_outputs.${id}`);
    }
    return miss(`context has no field "${String(field ?? '')}" (use context.user_input, context.step_outputs.ID or context.idempotency_key)`);
  }
  if (name === 'env') {
    const [key, ...more] = rest;
    if (typeof key !== 'string' || more.length) return miss('use ${env.NAME}');
    const env = scope.env ?? {};
    if (!Object.hasOwn(env, key)) return miss(`environment variable ${key} is not allowed on this node`);
    return { found: true, value: env[key] };
  }
  const field = rest[0];
  const own = scope.step(name);
  if (own === undefined && !(scope.aliases && Object.hasOwn(scope.aliases, name))) {
    return miss(`"${name}" is not a step, the loop variable, user_input, context or env in this scope`);
  }
  if (field !== 'output') return miss(`use \${${name}.output} for the output of step "${name}"`);
  return stepOutput(name, rest.slice(1), scope, `${name}.output`, own);
}

/** Resolves one variable or throws VariableError. */
export function resolveVariable(path: readonly PathSegment[], scope: VariableScope): unknown {
  const r = lookupVariable(path, scope);
  if (!r.found) throw new VariableError(`\${${formatPath(path)}}: ${r.reason}`, formatPath(path));
  return r.value;
}

/**
 * Resolves every `${...}` in a value. A string that is exactly one variable keeps the variable's
 * JSON type; variables inside longer strings are rendered (objects as JSON). Throws VariableError.
 */
export function resolveTemplate(value: unknown, scope: VariableScope): unknown {
  if (typeof value === 'string') return resolveString(value, scope);
  if (value === null || typeof value !== 'object') return value;
  let resolver = compiledTemplates.get(value);
  if (resolver === undefined) compiledTemplates.set(value, (resolver = compileValue(value, 0)));
  return resolver(scope);
}

/** `a.b[0]` form of a path. */
export function formatPath(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** A value's templates, compiled: resolves them against a scope into a fresh copy of the value. */
type Resolver = (scope: VariableScope) => unknown;

/**
 * Compiled templates by the object or list they were written in: a step's args are resolved on
 * every run of the step, and walking them afresh (the type of every value, the keys of every
 * object, the text of every string) was the larger part of building its task. Documents are not
 * changed once loaded, so an object's compiled form stays right for as long as it lives.
 */
const compiledTemplates = new WeakMap<object, Resolver>();

/**
 * `value` compiled. The resolver makes what resolving the value afresh made: new objects and
 * lists, and strings resolved as resolveString resolves them. A string that is not a valid template throws when it
 * is resolved (in its turn among its siblings), not when it is compiled.
 */
function compileValue(value: unknown, depth: number): Resolver {
  if (depth > 64) return fails(new VariableError('value nests too deeply'));
  if (typeof value === 'string') {
    if (!value.includes('${')) return () => value;
    let parts: readonly TemplatePart[];
    try {
      parts = parseTemplate(value);
    } catch (err) {
      return fails(err);
    }
    return (scope) => resolveParts(parts, scope);
  }
  if (Array.isArray(value)) {
    const items = value.map((v) => compileValue(v, depth + 1));
    return (scope) => items.map((item) => item(scope));
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    const fields = keys.map((k) => compileValue(value[k], depth + 1));
    return (scope) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) out[keys[i] as string] = (fields[i] as Resolver)(scope);
      return out;
    };
  }
  return () => value;
}

/** A resolver that throws `err`. */
function fails(err: unknown): Resolver {
  return () => {
    throw err;
  };
}

/**
 * Parsed templates by their text: a workflow's templates are resolved on every run of their step,
 * and parsing them again each time was a visible share of the engine's time per step. Bounded:
 * past TEMPLATES_KEPT distinct texts (or for a long text) it starts over.
 */
const parsedTemplates = new Map<string, readonly TemplatePart[]>();
const TEMPLATES_KEPT = 4_096;
const TEMPLATE_KEPT_MAX_LENGTH = 1_024;

function parsedTemplate(s: string): readonly TemplatePart[] {
  let parts = parsedTemplates.get(s);
  if (parts === undefined) {
    parts = parseTemplate(s); // throws on an invalid template: nothing is kept
    if (s.length <= TEMPLATE_KEPT_MAX_LENGTH) {
      if (parsedTemplates.size >= TEMPLATES_KEPT) parsedTemplates.clear();
      parsedTemplates.set(s, parts);
    }
  }
  return parts;
}

function resolveString(s: string, scope: VariableScope): unknown {
  return s.includes('${') ? resolveParts(parsedTemplate(s), scope) : s;
}

/** A parsed template resolved: one whole-string variable keeps its JSON type, anything else is text. */
function resolveParts(parts: readonly TemplatePart[], scope: VariableScope): unknown {
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only && 'ref' in only) return resolveVariable(only.ref.path, scope);
  return parts.map((p) => ('ref' in p ? render(resolveVariable(p.ref.path, scope)) : p.text)).join('');
}

function render(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v) ?? '';
  return String(v);
}

/** `own`: the scope's step `id`, when the caller has looked it up already. */
function stepOutput(id: string, fields: readonly PathSegment[], scope: VariableScope, label: string, own = scope.step(id)): Lookup {
  const target = own ? id : (scope.aliases?.[id] ?? id);
  const view = own ?? scope.step(target);
  if (!view) return miss(`no step "${id}" in this scope`);
  if (view.status === 'completed' || view.status === 'failed') return dig(view.output, fields, label);
  const why = view.status === 'skipped' ? 'was skipped' : view.status === 'cancelled' ? 'was cancelled' : 'has not run yet';
  return miss(`step "${target}" ${why}, so it has no output`);
}

function dig(value: unknown, fields: readonly PathSegment[], label: string): Lookup {
  let cur = value;
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k] as PathSegment;
    cur = fromJsonText(cur);
    if (Array.isArray(cur)) {
      const i = typeof f === 'number' ? f : /^\d+$/.test(f) ? Number(f) : NaN;
      if (!Number.isInteger(i) || i >= cur.length) {
        return miss(`${reached(label, fields, k)} is a list of ${cur.length}; it has no item ${typeof f === 'number' ? `[${f}]` : `"${f}"`}`);
      }
      cur = cur[i];
    } else if (isPlainObject(cur) && Object.hasOwn(cur, String(f))) {
      cur = cur[String(f)];
    } else if (isPlainObject(cur)) {
      const keys = Object.keys(cur);
      const shown = keys.length ? `; it has ${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', ...' : ''}` : '; it is empty';
      return miss(`${reached(label, fields, k)} has no field "${String(f)}"${shown}`);
    } else {
      return miss(`${reached(label, fields, k)} is ${describe(cur)}, so it has no field "${String(f)}"`);
    }
  }
  return { found: true, value: cur };
}

/** The name of what `fields` reached before field `k`, for a miss: `label`, then `.field` or `[i]` each. */
function reached(label: string, fields: readonly PathSegment[], k: number): string {
  return k === 0 ? label : label + formatPath(['', ...fields.slice(0, k)]);
}

/**
 * A JSON object or list written as text (an LLM's plain reply, a run input, LangSwarm's
 * `arguments`) → the value it holds; anything else, or text that does not parse, as it is.
 */
export function fromJsonText(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'empty';
  if (typeof v === 'string') return `the text "${clip(v)}"`;
  return `a ${typeof v}`;
}

function miss(reason: string): Lookup {
  return { found: false, reason };
}

function clip(s: string, n = 40): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function walkStrings(value: unknown, visit: (s: string) => void, depth = 0): void {
  if (depth > 64) return;
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((v) => walkStrings(v, visit, depth + 1));
  else if (isPlainObject(value)) Object.values(value).forEach((v) => walkStrings(v, visit, depth + 1));
}
