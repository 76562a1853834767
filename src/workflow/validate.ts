/** The validation entry points: YAML text in, every problem (with path and line) out. */
import { MeshError } from '../protocol/errors.js';
import { checkDocument, type ValidationStats } from './check.js';
export type { ValidationStats } from './check.js';
import { IssueList, type ValidationIssue } from './issues.js';
import { BUILTIN_TOOL_TYPES, type WorkflowDocument } from './model.js';
import { allSteps, normalizeDocument, type Normalized } from './normalize.js';
import { lineOf, readYaml } from './yaml-source.js';

export interface ValidateOptions {
  /** Names `${env.NAME}` may read (default: none). */
  readonly allowedEnv?: readonly string[];
  /** Tool types tools may have (default: the built-in ones). */
  readonly knownToolTypes?: readonly string[];
  /**
   * The workflow that will run: problems that lie only in workflows it never reaches (through
   * invoke_workflow or loop bodies) become warnings, so one bad sibling does not block it.
   */
  readonly workflow?: string;
  /**
   * Faults (a step that cannot run as written: an unknown agent, a route to no step, a LangSwarm
   * function wfmesh does not have) are errors, not warnings. Off by default, like LangSwarm,
   * which loads such files and fails when a run reaches the step.
   */
  readonly strict?: boolean;
  /**
   * An undeclared `${NAME}` is read from the run input's field, as LangSwarm reads a
   * run_workflow keyword (with a warning). On by default; off, it is an error (a generated
   * workflow declares its inputs).
   */
  readonly runKeywords?: boolean;
  /** Filled with work counters (tests check that validation is linear). */
  readonly stats?: ValidationStats;
}

export interface ValidationResult {
  valid: boolean;
  errors: ValidationIssue[];
  /** Warnings, faults among them (unless strict). */
  warnings: ValidationIssue[];
  /** Steps that fail when a run reaches them (also listed in warnings, or errors when strict). */
  faults: ValidationIssue[];
  /** The normalised document, when valid. */
  document?: WorkflowDocument;
}

/**
 * Recent results by text and options: an MCP client that runs the same workflow again (and the
 * node that checks it at the tool, then at the start) parses and checks it once. Results are
 * shared, so they are read-only to every caller (the engine never writes to a document).
 */
const recent = new Map<string, ValidationResult>();
const RECENT_MAX = 32;
const RECENT_MAX_CHARS = 256 * 1024;

/** Validates workflow YAML. Never throws: anything wrong, even internally, comes back as an error. */
export function validateWorkflowText(text: string, opts: ValidateOptions = {}): ValidationResult {
  if (opts.stats || typeof text !== 'string' || text.length > RECENT_MAX_CHARS) return validateUncached(text, opts);
  const key = `${opts.strict === true}\u0000${opts.runKeywords !== false}\u0000${opts.workflow ?? ''}\u0000${(opts.allowedEnv ?? []).join(',')}\u0000${(opts.knownToolTypes ?? []).join(',')}\u0000${text}`;
  let result = recent.get(key);
  if (result) {
    recent.delete(key); // most recently used last
  } else {
    result = validateUncached(text, opts);
    if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value as string);
  }
  recent.set(key, result);
  return result;
}

function validateUncached(text: string, opts: ValidateOptions): ValidationResult {
  const issues = new IssueList();
  let lines = new Map<string, number>();
  let value: unknown;
  let parsed = false;
  try {
    const src = readYaml(text, issues);
    lines = src.lines;
    value = src.value;
    parsed = src.value !== undefined || issues.ok;
  } catch (err) {
    issues.error('', `internal validator error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return validateParsed(parsed ? { value } : undefined, issues, (i) => ({ line: i.line ?? lineOf(lines, i.path) }), opts);
}

/**
 * Validates an already parsed document (`parsed` undefined: parsing failed, `issues` says why).
 * `locate` tells where an issue's path comes from: a line, and for merged config folders a file
 * and the path inside it.
 */
export function validateParsed(
  parsed: { value: unknown } | undefined,
  issues: IssueList,
  locate: (i: ValidationIssue) => Partial<ValidationIssue>,
  opts: ValidateOptions = {},
): ValidationResult {
  let document: WorkflowDocument | undefined;
  try {
    if (parsed) {
      const knownToolTypes = opts.knownToolTypes ?? BUILTIN_TOOL_TYPES;
      const normalized = normalizeDocument(parsed.value, issues, { knownToolTypes, runKeywords: opts.runKeywords !== false });
      if (normalized) checkDocument(normalized, issues, { allowedEnv: opts.allowedEnv ?? [], knownToolTypes, ...(opts.stats && { stats: opts.stats }) });
      (opts.strict ? issues.errors : issues.warnings).push(...issues.faults);
      if (normalized) {
        document = normalized.document;
        if (opts.workflow !== undefined && Object.hasOwn(document.workflows, opts.workflow)) demoteSiblings(normalized, opts.workflow, issues);
      }
    }
  } catch (err) {
    issues.error('', `internal validator error: ${err instanceof Error ? err.message : String(err)}`);
  }
  const withLines = (list: ValidationIssue[]): ValidationIssue[] =>
    dedupe(list).map((i) => {
      const at = locate(i);
      const out: ValidationIssue = { ...i, ...at };
      if (out.line === undefined) delete out.line;
      if (out.file === undefined) delete out.file;
      return out;
    });
  const errors = byLine(withLines(issues.errors));
  const warnings = byLine(withLines(issues.warnings));
  const faults = byLine(withLines(issues.faults));
  const valid = errors.length === 0;
  return { valid, errors, warnings, faults, ...(valid && document && { document }) };
}

/** Errors inside workflows that `run` never reaches become warnings naming that workflow. */
function demoteSiblings(n: Normalized, run: string, issues: IssueList): void {
  const doc = n.document;
  const reached = new Set([run]);
  const todo = [run];
  while (todo.length) {
    const wf = doc.workflows[todo.pop() as string];
    for (const s of wf ? allSteps(wf.steps) : []) {
      const to = s.kind === 'invoke_workflow' ? s.workflow : s.kind === 'loop' && 'workflow' in s.loop.body ? s.loop.body.workflow : undefined;
      if (to !== undefined && !reached.has(to)) {
        reached.add(to);
        todo.push(to);
      }
    }
  }
  const skipped = [...n.workflowPaths].filter(([id]) => !reached.has(id));
  const ownerOf = (path: string): string | undefined => skipped.find(([, p]) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`))?.[0];
  const keep: ValidationIssue[] = [];
  for (const e of issues.errors) {
    const owner = ownerOf(e.path);
    if (owner === undefined) keep.push(e);
    else issues.warnings.push({ ...e, message: `(workflow "${owner}" is not run) ${e.message}` });
  }
  issues.errors.splice(0, issues.errors.length, ...keep);
}

/** The normalised document, or MeshError WORKFLOW_INVALID listing every error (details = errors). */
export function loadWorkflowDocument(text: string, opts: ValidateOptions = {}): WorkflowDocument {
  const r = validateWorkflowText(text, opts);
  if (!r.valid || !r.document) {
    throw new MeshError('WORKFLOW_INVALID', `invalid workflow:\n${r.errors.map(formatIssue).join('\n')}`, r.errors);
  }
  return r.document;
}

/** `LINE path: message` (or without the parts that are unknown). */
export function formatIssue(i: ValidationIssue): string {
  const line = i.line !== undefined ? `line ${i.line}` : '';
  const where = [i.file ? (line ? `${i.file} ${line}` : i.file) : line, i.path].filter(Boolean).join(' ');
  return where ? `${where}: ${i.message}` : i.message;
}

/** Stable sort by line, so problems read top to bottom like the file. */
function byLine(list: ValidationIssue[]): ValidationIssue[] {
  const file = (i: ValidationIssue): string => i.file ?? '';
  return list
    .map((i, n) => ({ i, n }))
    .sort((a, b) => (file(a.i) < file(b.i) ? -1 : file(a.i) > file(b.i) ? 1 : 0) || (a.i.line ?? 0) - (b.i.line ?? 0) || a.n - b.n)
    .map((x) => x.i);
}

function dedupe(list: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return list.filter((i) => {
    const key = `${i.file ?? ''}\u0000${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
