/** The validation entry points: YAML text in, every problem (with path and line) out. */
import { MeshError } from '../protocol/errors.js';
import { checkDocument } from './check.js';
import { IssueList, type ValidationIssue } from './issues.js';
import { BUILTIN_TOOL_TYPES, type WorkflowDocument } from './model.js';
import { normalizeDocument } from './normalize.js';
import { lineOf, readYaml } from './yaml-source.js';

export interface ValidateOptions {
  /** Names `${env.NAME}` may read (default: none). */
  readonly allowedEnv?: readonly string[];
  /** Tool types tools may have (default: the built-in ones). */
  readonly knownToolTypes?: readonly string[];
}

export interface ValidationResult {
  valid: boolean;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
  /** The normalised document, when valid. */
  document?: WorkflowDocument;
}

/** Validates workflow YAML. Never throws: anything wrong, even internally, comes back as an error. */
export function validateWorkflowText(text: string, opts: ValidateOptions = {}): ValidationResult {
  const issues = new IssueList();
  let lines = new Map<string, number>();
  let document: WorkflowDocument | undefined;
  try {
    const src = readYaml(text, issues);
    lines = src.lines;
    if (src.value !== undefined || issues.ok) {
      const knownToolTypes = opts.knownToolTypes ?? BUILTIN_TOOL_TYPES;
      const normalized = normalizeDocument(src.value, issues, { knownToolTypes });
      if (normalized) {
        checkDocument(normalized, issues, { allowedEnv: opts.allowedEnv ?? [], knownToolTypes });
        document = normalized.document;
      }
    }
  } catch (err) {
    issues.error('', `internal validator error: ${err instanceof Error ? err.message : String(err)}`);
  }
  const withLines = (list: ValidationIssue[]): ValidationIssue[] =>
    dedupe(list).map((i) => {
      const line = i.line ?? lineOf(lines, i.path);
      return line === undefined ? i : { ...i, line };
    });
  const errors = byLine(withLines(issues.errors));
  const warnings = byLine(withLines(issues.warnings));
  const valid = errors.length === 0;
  return { valid, errors, warnings, ...(valid && document && { document }) };
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
  const where = [i.line !== undefined ? `line ${i.line}` : '', i.path].filter(Boolean).join(' ');
  return where ? `${where}: ${i.message}` : i.message;
}

/** Stable sort by line, so problems read top to bottom like the file. */
function byLine(list: ValidationIssue[]): ValidationIssue[] {
  return list.map((i, n) => ({ i, n })).sort((a, b) => (a.i.line ?? 0) - (b.i.line ?? 0) || a.n - b.n).map((x) => x.i);
}

function dedupe(list: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return list.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
