/**
 * The condition language: a hand-written tokenizer and recursive-descent parser. Nothing here is
 * ever handed to eval; an expression can only compare values and read variables.
 *
 *   expr    := or
 *   or      := and (("or" | "||") and)*
 *   and     := not (("and" | "&&") not)*
 *   not     := ("not" | "!") not | exists | compare
 *   exists  := "exists" var
 *   compare := value [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in" | "contains"
 *                       | "not contains" | "is" | "is not") value | "exists" | "not exists" ]
 *   value   := string | number | true | false | null | ${path} | bare.path | "[" list "]" | "(" expr ")"
 */
import { parseTemplate, parseVariablePath, VariableError, type PathSegment } from './variables.js';

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'contains';

export type Expr =
  | { readonly t: 'lit'; readonly value: string | number | boolean | null }
  | { readonly t: 'var'; readonly text: string; readonly path: readonly PathSegment[] }
  /** A quoted string with `${...}` in it: LangSwarm substitutes the variables as text first. */
  | { readonly t: 'tpl'; readonly parts: readonly ({ readonly text: string } | { readonly ref: Extract<Expr, { t: 'var' }> })[] }
  | { readonly t: 'list'; readonly items: readonly Expr[] }
  | { readonly t: 'not'; readonly e: Expr }
  | { readonly t: 'and' | 'or'; readonly l: Expr; readonly r: Expr }
  | { readonly t: 'cmp'; readonly op: CompareOp; readonly negate: boolean; readonly l: Expr; readonly r: Expr }
  | { readonly t: 'exists'; readonly negate: boolean; readonly v: Extract<Expr, { t: 'var' }> };

/** A condition that does not parse; `position` is 1-based within the expression. */
export class ExpressionSyntaxError extends Error {
  override readonly name = 'ExpressionSyntaxError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

export const MAX_EXPRESSION_LENGTH = 4096;
const MAX_DEPTH = 48;

type Token =
  | { k: 'str'; v: string; at: number }
  | { k: 'num'; v: number; at: number }
  | { k: 'var'; text: string; path: PathSegment[]; at: number }
  | { k: 'word'; v: string; at: number }
  | { k: 'op'; v: string; at: number }
  | { k: 'end'; at: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'contains', 'exists', 'true', 'false', 'null', 'none', 'is']);
const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ','];

/** Parses a condition; throws ExpressionSyntaxError. */
export function parseExpression(text: string): Expr {
  if (typeof text !== 'string') throw new ExpressionSyntaxError('a condition must be text', 1);
  if (text.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionSyntaxError(`the condition is longer than ${MAX_EXPRESSION_LENGTH} characters`, 1);
  }
  return new Parser(tokenize(text)).parseAll();
}

/** Every variable an expression reads. */
export function expressionVariables(e: Expr): Extract<Expr, { t: 'var' }>[] {
  switch (e.t) {
    case 'lit':
      return [];
    case 'var':
      return [e];
    case 'tpl':
      return e.parts.flatMap((p) => ('ref' in p ? [p.ref] : []));
    case 'list':
      return e.items.flatMap(expressionVariables);
    case 'not':
      return expressionVariables(e.e);
    case 'exists':
      return [e.v];
    default:
      return [...expressionVariables(e.l), ...expressionVariables(e.r)];
  }
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string, at: number): never => {
    throw new ExpressionSyntaxError(`${msg} at position ${at + 1}`, at + 1);
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '$' && src[i + 1] === '{') {
      const end = src.indexOf('}', i + 2);
      if (end < 0) fail('unterminated ${ (missing })', i);
      const inner = src.slice(i + 2, end);
      out.push({ k: 'var', text: inner.trim(), path: varPath(inner, i), at: i });
      i = end + 1;
    } else if (c === '"' || c === "'") {
      const [value, next] = readString(src, i, fail);
      out.push({ k: 'str', v: value, at: i });
      i = next;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9.]/.test(src[i + 1] ?? '')) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i, i + 64));
      if (!m) return fail('bad number', i);
      const n = Number(m[0]);
      if (!Number.isFinite(n)) fail('number out of range', i);
      out.push({ k: 'num', v: n, at: i });
      i += m[0].length;
      if (/[A-Za-z_]/.test(src[i] ?? '')) fail('a number runs into a name', i);
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*(?:(?:\.[A-Za-z0-9_-]+)|(?:\[\d+\]))*/.exec(src.slice(i, i + 1024));
      const word = m?.[0] ?? c;
      const lower = word.toLowerCase();
      if (!word.includes('.') && !word.includes('[') && KEYWORDS.has(lower)) out.push({ k: 'word', v: lower, at: i });
      else out.push({ k: 'var', text: word, path: varPath(word, i), at: i });
      i += word.length;
    } else {
      const op = OPS.find((o) => src.startsWith(o, i));
      if (!op) return fail(`unexpected "${c}"${c === '=' ? ' (use == to compare)' : ''}`, i);
      out.push({ k: 'op', v: op, at: i });
      i += op.length;
    }
  }
  out.push({ k: 'end', at: src.length });
  return out;
}

function varPath(inner: string, at: number): PathSegment[] {
  try {
    return parseVariablePath(inner);
  } catch (err) {
    const msg = err instanceof VariableError ? err.message : String(err);
    throw new ExpressionSyntaxError(`${msg} (at position ${at + 1})`, at + 1);
  }
}

function readString(src: string, start: number, fail: (m: string, at: number) => never): [string, number] {
  const quote = src[start];
  let out = '';
  let i = start + 1;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === quote) return [out, i + 1];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) break;
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return fail('unterminated string', start);
}

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly toks: Token[]) {}

  parseAll(): Expr {
    const e = this.or();
    const t = this.peek();
    if (t.k !== 'end') this.fail(`unexpected ${describe(t)}`, t);
    return e;
  }

  private peek(offset = 0): Token {
    return this.toks[Math.min(this.pos + offset, this.toks.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }

  private isWord(t: Token, w: string): boolean {
    return t.k === 'word' && t.v === w;
  }

  private isOp(t: Token, o: string): boolean {
    return t.k === 'op' && t.v === o;
  }

  private fail(msg: string, t: Token): never {
    throw new ExpressionSyntaxError(`${msg} at position ${t.at + 1}`, t.at + 1);
  }

  private nest<T>(t: Token, f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail('the condition nests too deeply', t);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private or(): Expr {
    let l = this.and();
    while (this.isWord(this.peek(), 'or') || this.isOp(this.peek(), '||')) {
      this.next();
      l = { t: 'or', l, r: this.and() };
    }
    return l;
  }

  private and(): Expr {
    let l = this.not();
    while (this.isWord(this.peek(), 'and') || this.isOp(this.peek(), '&&')) {
      this.next();
      l = { t: 'and', l, r: this.not() };
    }
    return l;
  }

  private not(): Expr {
    const t = this.peek();
    if (this.isWord(t, 'not') || this.isOp(t, '!')) {
      this.next();
      return this.nest(t, () => ({ t: 'not', e: this.not() }));
    }
    if (this.isWord(t, 'exists')) {
      this.next();
      return { t: 'exists', negate: false, v: this.variable() };
    }
    return this.compare();
  }

  private variable(): Extract<Expr, { t: 'var' }> {
    const t = this.next();
    if (t.k !== 'var') this.fail(`"exists" needs a variable, found ${describe(t)}`, t);
    return { t: 'var', text: t.text, path: t.path };
  }

  private compare(): Expr {
    const l = this.value();
    const t = this.peek();
    const isForm = this.isWord(t, 'is');
    const negated = this.isWord(t, 'not') || (isForm && this.isWord(this.peek(1), 'not'));
    if (isForm) this.next();
    if (negated) this.next();
    const op = this.peek();
    if (this.isWord(op, 'exists')) {
      this.next();
      if (l.t !== 'var') this.fail('"exists" applies to a variable', op);
      return { t: 'exists', negate: negated, v: l };
    }
    const cmp = op.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(op.v) ? (op.v as CompareOp) : undefined;
    const word = this.isWord(op, 'in') || this.isWord(op, 'contains') ? (op.k === 'word' ? op.v : '') : '';
    if (isForm && (cmp || (word && !negated))) this.fail('"is" compares with a value: x is None, x is not None', t);
    // Python's `x is None` / `x is not None` (LangSwarm conditions are Python expressions).
    if (isForm && !word) return { t: 'cmp', op: negated ? '!=' : '==', negate: false, l, r: this.value() };
    if (negated && !word) this.fail(`expected "in", "contains" or "exists" after "not"`, op);
    if (!cmp && !word) return l;
    this.next();
    return { t: 'cmp', op: cmp ?? (word as CompareOp), negate: negated, l, r: this.value() };
  }

  private template(t: Extract<Token, { k: 'str' }>): Expr {
    let parts;
    try {
      parts = parseTemplate(t.v);
    } catch (err) {
      return this.fail(err instanceof VariableError ? err.message : String(err), t);
    }
    if (!parts.some((p) => 'ref' in p)) return { t: 'lit', value: t.v.replaceAll('$${', '${') };
    return { t: 'tpl', parts: parts.map((p) => ('ref' in p ? { ref: { t: 'var' as const, text: p.ref.text, path: p.ref.path } } : { text: p.text })) };
  }

  private value(): Expr {
    const t = this.next();
    switch (t.k) {
      case 'str':
        return t.v.includes('${') ? this.template(t) : { t: 'lit', value: t.v };
      case 'num':
        return { t: 'lit', value: t.v };
      case 'var':
        return { t: 'var', text: t.text, path: t.path };
      case 'word':
        if (t.v === 'true' || t.v === 'false') return { t: 'lit', value: t.v === 'true' };
        if (t.v === 'null' || t.v === 'none') return { t: 'lit', value: null };
        return this.fail(`unexpected "${t.v}"`, t);
      case 'op':
        if (t.v === '(') {
          const e = this.nest(t, () => this.or());
          if (!this.isOp(this.next(), ')')) this.fail('missing )', t);
          return e;
        }
        if (t.v === '[') return this.nest(t, () => this.list(t));
        return this.fail(`unexpected "${t.v}"`, t);
      default:
        return this.fail('the condition ends too early', t);
    }
  }

  private list(open: Token): Expr {
    const items: Expr[] = [];
    if (this.isOp(this.peek(), ']')) {
      this.next();
      return { t: 'list', items };
    }
    for (;;) {
      items.push(this.value());
      const t = this.next();
      if (this.isOp(t, ']')) return { t: 'list', items };
      if (!this.isOp(t, ',')) this.fail(`expected , or ] in the list opened at position ${open.at + 1}`, t);
    }
  }
}

function describe(t: Token): string {
  switch (t.k) {
    case 'end':
      return 'end of condition';
    case 'str':
      return `string "${t.v.slice(0, 20)}"`;
    case 'num':
      return `number ${t.v}`;
    case 'var':
      return `variable ${t.text}`;
    default:
      return `"${t.v}"`;
  }
}
