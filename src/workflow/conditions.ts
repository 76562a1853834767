/**
 * Evaluating conditions. Strict on purpose: a condition that compares values that cannot be
 * compared or is not true/false is an error, never a quiet `else`. A variable that cannot
 * resolve is an error too, except where the scope has `onMissing` (a route's `if`, a step's
 * `condition`): there, as in LangSwarm, the condition is false and the scope is told which
 * variable was missing. `exists` tolerates a missing value, and so does a comparison with null
 * (`${x.warning} != None`: an absent field is None, as LangSwarm's docs use it).
 */
import { parseExpression, type Expr } from './expression.js';
import { formatPath, lookupVariable, type VariableScope } from './variables.js';

/** A condition that parsed but cannot be evaluated against this scope. */
export class ConditionError extends Error {
  override readonly name = 'ConditionError';
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
  }
}

const cache = new Map<string, Expr>();
const CACHE_LIMIT = 1000;

/** Parses with a small cache: the engine evaluates the same conditions again and again. */
export function compileExpression(text: string): Expr {
  let e = cache.get(text);
  if (!e) {
    e = parseExpression(text);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, e);
  }
  return e;
}

/** A variable of the condition did not resolve (a missing field, a skipped step, a plain-text reply). */
class MissingValueError extends ConditionError {
  constructor(
    message: string,
    expression: string,
    readonly variable: string,
    readonly reason: string,
  ) {
    super(message, expression);
  }
}

/** Evaluates a condition to true/false; throws ExpressionSyntaxError or ConditionError. */
export function evaluateCondition(expr: string | boolean, scope: VariableScope): boolean {
  if (typeof expr === 'boolean') return expr;
  let v: unknown;
  try {
    v = evaluate(compileExpression(expr), scope, expr);
  } catch (err) {
    if (!(err instanceof MissingValueError) || !scope.onMissing) throw err;
    scope.onMissing(err.variable, err.reason, 'false');
    return false;
  }
  if (typeof v !== 'boolean') {
    throw new ConditionError(`condition "${clip(expr)}" gave ${show(v)}, not true or false`, expr);
  }
  return v;
}

/** Evaluates an expression to a value (the `switch` of a condition). */
export function evaluateExpression(expr: string, scope: VariableScope): unknown {
  return evaluate(compileExpression(expr), scope, expr);
}

function evaluate(e: Expr, scope: VariableScope, src: string): unknown {
  const fail = (msg: string): never => {
    throw new ConditionError(`condition "${clip(src)}": ${msg}`, src);
  };
  const bool = (x: Expr, what: string): boolean => {
    const v = evaluate(x, scope, src);
    if (typeof v !== 'boolean') fail(`"${what}" needs true/false on both sides, got ${show(v)}`);
    return v as boolean;
  };
  switch (e.t) {
    case 'lit':
      return e.value;
    case 'var': {
      const r = lookupVariable(e.path, scope);
      if (r.found) return r.value;
      const variable = `\${${formatPath(e.path)}}`;
      throw new MissingValueError(`condition "${clip(src)}": ${variable}: ${r.reason}`, src, variable, r.reason);
    }
    case 'tpl':
      // As LangSwarm: each variable is put in as text; one that cannot resolve stays as written,
      // so a comparison against it is false (the else branch) and the scope is told why.
      return e.parts
        .map((p) => {
          if (!('ref' in p)) return p.text;
          const r = lookupVariable(p.ref.path, scope);
          if (r.found) return typeof r.value === 'string' ? r.value : r.value === undefined || r.value === null ? '' : JSON.stringify(r.value);
          scope.onMissing?.(`\${${p.ref.text}}`, r.reason, 'as_text');
          return `\${${p.ref.text}}`;
        })
        .join('');
    case 'list':
      return e.items.map((i) => evaluate(i, scope, src));
    case 'not':
      return !bool(e.e, 'not');
    case 'and':
      return bool(e.l, 'and') && bool(e.r, 'and');
    case 'or':
      return bool(e.l, 'or') || bool(e.r, 'or');
    case 'exists': {
      const r = lookupVariable(e.v.path, scope);
      // Empty text is absent too, as in LangSwarm (`value is not None and value != ""`).
      const exists = r.found && r.value !== null && r.value !== undefined && r.value !== '';
      return e.negate ? !exists : exists;
    }
    case 'cmp': {
      const l = side(e.l, e.r, e.op, scope, src);
      const r = side(e.r, e.l, e.op, scope, src);
      const v = compare(e.op, l, r, fail);
      return e.negate ? !v : v;
    }
  }
}

/** One side of a comparison: a variable compared with null for (in)equality reads as null when absent. */
function side(x: Expr, other: Expr, op: string, scope: VariableScope, src: string): unknown {
  if (x.t !== 'var' || (op !== '==' && op !== '!=') || other.t !== 'lit' || other.value !== null) return evaluate(x, scope, src);
  const r = lookupVariable(x.path, scope);
  return r.found ? r.value : null;
}

function compare(op: string, l: unknown, r: unknown, fail: (m: string) => never): boolean {
  switch (op) {
    case '==':
      return looseEqual(l, r);
    case '!=':
      return !looseEqual(l, r);
    case 'in':
      return contains(r, l, 'in', fail);
    case 'contains':
      return contains(l, r, 'contains', fail);
    default: {
      const ln = asNumber(l);
      const rn = asNumber(r);
      let c: number;
      if (ln !== undefined && rn !== undefined) c = ln - rn;
      else if (typeof l === 'string' && typeof r === 'string') c = l < r ? -1 : l > r ? 1 : 0;
      else return fail(`cannot order ${show(l)} and ${show(r)} with ${op}`);
      return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
    }
  }
}

function contains(hay: unknown, needle: unknown, op: string, fail: (m: string) => never): boolean {
  if (Array.isArray(hay)) return hay.some((x) => looseEqual(x, needle));
  if (typeof hay === 'string') {
    if (typeof needle === 'string' || typeof needle === 'number') return hay.includes(String(needle));
    return fail(`"${op}" on text needs text to look for, got ${show(needle)}`);
  }
  if (hay !== null && typeof hay === 'object') {
    if (typeof needle === 'string') return Object.hasOwn(hay, needle);
    return fail(`"${op}" on an object needs a key name, got ${show(needle)}`);
  }
  return fail(op === 'in' ? `"in" needs a list, text or object on its right, got ${show(hay)}` : `"contains" needs a list, text or object on its left, got ${show(hay)}`);
}

/** JSON equality, where a number equals the same number written as text ("3" == 3). */
function looseEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'string') return asNumber(b) === a;
  if (typeof a === 'string' && typeof b === 'number') return asNumber(a) === b;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => looseEqual(x, b[i]));
  const ak = Object.keys(a);
  const bo = b as Record<string, unknown>;
  return ak.length === Object.keys(bo).length && ak.every((k) => Object.hasOwn(bo, k) && looseEqual((a as Record<string, unknown>)[k], bo[k]));
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `the text "${clip(v, 30)}"`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}
