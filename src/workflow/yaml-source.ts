/**
 * YAML text → plain value plus a path → line map, so every problem found later on the plain value
 * can name the line it came from.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLError } from 'yaml';
import { IssueList, joinPath, parentPath } from './issues.js';

/** Documents larger than this are refused before parsing. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** YAML aliases are expanded on conversion; this caps "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;
/** Plain values deeper than this are refused (also catches recursive aliases). */
export const MAX_DEPTH = 64;
/**
 * Nesting the text may show before it is parsed. The scan counts indentation levels, `- ` items
 * and open brackets together, so it overcounts a little; real workflows stay far below it.
 */
export const MAX_SCAN_DEPTH = 2 * MAX_DEPTH;

export interface SourceDocument {
  /** The document as plain JSON-like data, absent when it could not be parsed. */
  value?: unknown;
  /** YAML path → 1-based line of the key (maps) or item (lists). */
  lines: Map<string, number>;
}

/** Parses YAML text; syntax problems land in `issues` with their line. */
export function readYaml(text: string, issues: IssueList): SourceDocument {
  const lines = new Map<string, number>();
  if (typeof text !== 'string') {
    issues.error('', 'the workflow must be YAML text');
    return { lines };
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    issues.error('', `the document is larger than the limit of ${MAX_DOCUMENT_BYTES} bytes`);
    return { lines };
  }
  // Before the YAML library builds a node per bracket: a megabyte of `[[[...` costs it hundreds
  // of megabytes, so deep nesting is refused by one cheap pass over the text.
  const deep = scanDepth(text, MAX_SCAN_DEPTH);
  if (deep) {
    issues.errors.push({ path: '', line: deep.line, message: `the document nests deeper than the limit of ${MAX_SCAN_DEPTH} levels (refused before parsing)` });
    return { lines };
  }
  if (countDocuments(text) > 1) {
    issues.error('', 'the file holds several YAML documents (separated by ---); a workflow file is one document: merge them, or put each in its own file of a config folder');
    return { lines };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, keepSourceTokens: false });
  const errLine = (e: YAMLError): number => e.linePos?.[0]?.line ?? lineCounter.linePos(Math.min(e.pos[0], text.length)).line;
  // The parser reports every token after a syntax error again; the first error is the one to fix.
  const [first] = doc.errors;
  if (first) {
    const more = doc.errors.length - 1;
    issues.errors.push({ path: '', line: errLine(first), message: `YAML: ${firstLine(first.message)}${more ? ` (and ${more} more YAML error${more > 1 ? 's' : ''} after it, most of them caused by this one)` : ''}` });
  }
  for (const w of doc.warnings) issues.warnings.push({ path: '', line: errLine(w), message: `YAML: ${firstLine(w.message)}` });
  if (doc.errors.length > 0) return { lines };
  const lineAt = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;
  mapLines(doc.contents as Node | null, '', lines, lineAt, 0, issues);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    issues.error('', `YAML: ${firstLine(err instanceof Error ? err.message : String(err))}`);
    return { lines };
  }
  if (exceedsDepth(value, 0, new Set())) {
    issues.error('', `the document nests deeper than ${MAX_DEPTH} levels (or an alias refers to itself)`);
    return { lines };
  }
  return { value, lines };
}

/**
 * The line of `path`, or of its nearest ancestor that has one. A workflow written as a bare list
 * of steps (`workflows: {main: [...]}`) is normalised under `.steps`, which its source lacks.
 */
export function lineOf(lines: ReadonlyMap<string, number>, path: string): number | undefined {
  let p = path;
  for (let i = 0; i < 200; i++) {
    const line = lines.get(p) ?? lines.get(p.replace(/^(workflows\.[^.[]+)\.steps\[/, '$1['));
    if (line !== undefined) return line;
    if (!p) return undefined;
    p = parentPath(p);
  }
  return undefined;
}

function mapLines(
  node: Node | null,
  path: string,
  lines: Map<string, number>,
  lineAt: (offset: number | undefined) => number | undefined,
  depth: number,
  issues: IssueList,
): void {
  if (!node || depth > MAX_DEPTH || isAlias(node)) return;
  if (path === '' && node.range) setLine(lines, '', lineAt(node.range[0]));
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (!isScalar(key)) {
        // Complex keys (`? [a, b]`) mean nothing in a workflow; they are usually a typo.
        issues.errors.push({ path, line: lineAt(key?.range?.[0]), message: 'a mapping key must be plain text, not a list or mapping' });
        continue;
      }
      const child = joinPath(path, String(key.value));
      // LangSwarm reads YAML with PyYAML, where a repeated key silently replaces the first.
      if (seen.has(String(key.value))) issues.warnings.push({ path: child, line: lineAt(key.range?.[0]), message: `key "${String(key.value)}" appears twice in this mapping: the last one is used` });
      seen.add(String(key.value));
      setLine(lines, child, lineAt(key.range?.[0]));
      mapLines(pair.value as Node | null, child, lines, lineAt, depth + 1, issues);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const child = joinPath(path, i);
      const n = item as Node | null;
      setLine(lines, child, lineAt(n?.range?.[0]));
      mapLines(n, child, lines, lineAt, depth + 1, issues);
    });
  }
}

function setLine(lines: Map<string, number>, path: string, line: number | undefined): void {
  if (line !== undefined && !lines.has(path)) lines.set(path, line);
}

function exceedsDepth(value: unknown, depth: number, stack: Set<unknown>): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > MAX_DEPTH || stack.has(value)) return true;
  stack.add(value);
  const children = Array.isArray(value) ? value : Object.values(value);
  const deep = children.some((c) => exceedsDepth(c, depth + 1, stack));
  stack.delete(value);
  return deep;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/**
 * One pass over the text: the deepest nesting of flow brackets plus block structure (indentation
 * levels and compact `- - ` items). Quoted text and comments are skipped. Linear in the text.
 */
export function scanDepth(text: string, limit: number): { line: number } | undefined {
  const indents: number[] = [];
  let flow = 0;
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    let i = 0;
    while (raw[i] === ' ') i++;
    if (flow === 0 && i < raw.length && raw[i] !== '#' && raw.trim() !== '') {
      while (indents.length && (indents[indents.length - 1] as number) >= i) indents.pop();
      indents.push(i);
      // `- - - x` nests one sequence per dash on a single line.
      while (raw[i] === '-' && (raw[i + 1] === ' ' || i + 1 === raw.length)) {
        indents.push(i + 1);
        i += 2;
        while (raw[i] === ' ') i++;
      }
    }
    let quote = '';
    for (; i < raw.length; i++) {
      const c = raw[i];
      if (quote) {
        if (c === quote) quote = '';
        else if (c === '\\' && quote === '"') i++;
        continue;
      }
      if (c === '"' || (c === "'" && (i === 0 || /[\s[{,:]/.test(raw[i - 1] ?? '')))) quote = c;
      else if (c === '#' && (i === 0 || /\s/.test(raw[i - 1] ?? ''))) break;
      else if (c === '[' || c === '{') {
        flow++;
        if (flow + indents.length > limit) return { line };
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    if (indents.length + flow > limit) return { line };
  }
  return undefined;
}

/** How many YAML documents with content the text holds (`---` at the start of a line separates them). */
function countDocuments(text: string): number {
  let docs = 0;
  let content = false;
  for (const raw of text.split('\n')) {
    if (/^(---|\.\.\.)(\s|$)/.test(raw)) {
      content = false;
      if (!/^---\s+\S/.test(raw) || /^---\s+#/.test(raw)) continue;
    } else if (!raw.trim() || raw.trimStart().startsWith('#') || raw.startsWith('%')) continue;
    if (!content) docs++;
    content = true;
  }
  return docs;
}
