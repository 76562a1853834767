/**
 * LangSwarm config folders: `agents.yaml`, `tools.yaml`, `workflows.yaml` and the other YAML
 * files of a folder, merged into one document the way LangSwarm's loader merges them (each file
 * contributes its sections; lists are appended, maps joined). Pure: the caller reads the files.
 * Every problem names the file it is in, with the path and line inside that file.
 */
import { stringify } from 'yaml';
import { IssueList, joinPath, parentPath, type ValidationIssue } from './issues.js';
import { validateParsed, type ValidateOptions, type ValidationResult } from './validate.js';
import { isPlainObject } from './variables.js';
import { lineOf, MAX_DOCUMENT_BYTES, readYaml } from './yaml-source.js';

/** The order LangSwarm's V1 loader reads a folder in; other files follow by name. */
export const LANGSWARM_FILES = ['agents', 'tools', 'retrievers', 'plugins', 'registries', 'workflows', 'secrets', 'brokers'];
/** Sections that make a YAML file part of a LangSwarm config. */
const SECTIONS = new Set(['agents', 'tools', 'workflows', 'retrievers', 'plugins', 'registries', 'brokers', 'memory', 'langswarm', 'version', 'project_name']);
/** Sections whose entries are listed (or keyed by id): appended across files. */
const ENTRY_SECTIONS = new Set(['agents', 'tools', 'retrievers', 'plugins', 'registries', 'brokers']);
/** At most this many files in one folder. */
export const MAX_FOLDER_FILES = 64;

export interface FolderValidationResult extends ValidationResult {
  /** The merged document as one YAML text (what a mesh node is sent), when valid. */
  merged?: string;
  /** Files that were merged, in merge order; files without LangSwarm sections are left out. */
  used: string[];
}

interface Origin {
  readonly file: string;
  readonly path: string;
}

/** Validates the named files of a config folder as one document. Never throws. */
export function validateWorkflowFiles(files: Readonly<Record<string, string>>, opts: ValidateOptions = {}): FolderValidationResult {
  const m = mergeFiles(files);
  const r = validateParsed(m.value, m.issues, m.locate, opts);
  return { ...r, used: m.used, ...(r.valid && { merged: stringify(m.value?.value, { aliasDuplicateObjects: false, lineWidth: 0 }) }) };
}

/**
 * The files merged into one YAML text, for a caller that validates it itself (a node's
 * execution service): problems of reading and merging come back with their file and line.
 */
export function mergeWorkflowFiles(files: Readonly<Record<string, string>>): { ok: true; yaml: string } | { ok: false; errors: ValidationIssue[] } {
  const m = mergeFiles(files);
  if (!m.value || !m.issues.ok) return { ok: false, errors: m.issues.errors.map((i) => ({ ...i, ...m.locate(i) })) };
  return { ok: true, yaml: stringify(m.value.value, { aliasDuplicateObjects: false, lineWidth: 0 }) };
}

interface Merged {
  readonly value: { value: unknown } | undefined;
  readonly issues: IssueList;
  readonly locate: (i: ValidationIssue) => Partial<ValidationIssue>;
  readonly used: string[];
}

function mergeFiles(files: Readonly<Record<string, string>>): Merged {
  const issues = new IssueList();
  const names = orderFiles(Object.keys(files));
  const lines = new Map<string, Map<string, number>>();
  const origins = new Map<string, Origin>();
  const merged: Record<string, unknown> = {};
  const used: string[] = [];
  let parsedAll = true;
  if (names.length === 0) issues.error('', 'the config folder has no YAML files');
  const total = names.reduce((n, f) => n + Buffer.byteLength(files[f] ?? '', 'utf8'), 0);
  if (total > MAX_DOCUMENT_BYTES) {
    issues.error('', `the files are larger than the limit of ${MAX_DOCUMENT_BYTES} bytes together`);
    names.length = 0;
  }
  if (names.length > MAX_FOLDER_FILES) {
    issues.error('', `a config folder holds at most ${MAX_FOLDER_FILES} files, got ${names.length}`);
    names.length = 0;
  }
  for (const file of names) {
    const own = new IssueList();
    const src = readYaml(files[file] as string, own);
    lines.set(file, src.lines);
    for (const e of own.errors) issues.errors.push({ ...e, file });
    for (const w of own.warnings) issues.warnings.push({ ...w, file });
    if (!own.ok) {
      parsedAll = false;
      continue;
    }
    const base = stem(file);
    let value = src.value;
    // A bare list in agents.yaml is the agents section.
    if (Array.isArray(value) && ENTRY_SECTIONS.has(base)) value = { [base]: value };
    if (!isPlainObject(value) || !Object.keys(value).some((k) => SECTIONS.has(k))) {
      if (value !== undefined && value !== null) issues.warnings.push({ file, path: '', message: `${file} is not a LangSwarm config file (no agents, tools or workflows section); it is left out` });
      continue;
    }
    used.push(file);
    for (const [key, v] of Object.entries(value)) mergeSection(merged, key, v, file, origins, issues);
  }
  const locate = (i: ValidationIssue): Partial<ValidationIssue> => {
    if (i.file !== undefined) return { line: i.line ?? lineOf(lines.get(i.file) ?? new Map(), i.path) };
    const o = origin(origins, i.path);
    if (!o) return {};
    return { file: o.file, path: o.path, line: i.line ?? lineOf(lines.get(o.file) ?? new Map(), o.path) };
  };
  return { value: parsedAll && names.length > 0 ? { value: merged } : undefined, issues, locate, used };
}

/** LangSwarm's files first, in its order; then the rest by name. */
function orderFiles(names: string[]): string[] {
  const rank = (n: string): number => {
    const i = LANGSWARM_FILES.indexOf(stem(n));
    return i < 0 ? LANGSWARM_FILES.length : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function stem(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  return base.replace(/\.ya?ml$/i, '');
}

function mergeSection(into: Record<string, unknown>, key: string, v: unknown, file: string, origins: Map<string, Origin>, issues: IssueList): void {
  const prior = into[key];
  const seen = origins.get(key);
  if (prior === undefined) {
    into[key] = Array.isArray(v) ? [...v] : isPlainObject(v) ? { ...v } : v;
    origins.set(key, { file, path: key });
    if (Array.isArray(v)) v.forEach((_, i) => origins.set(joinPath(key, i), { file, path: joinPath(key, i) }));
    if (isPlainObject(v)) for (const k of Object.keys(v)) origins.set(joinPath(key, k), { file, path: joinPath(key, k) });
    return;
  }
  if (ENTRY_SECTIONS.has(key) || key === 'workflows') {
    // Lists append; a map joins a map; a map next to a list becomes {id: KEY, ...} entries.
    const asList = (x: unknown): unknown[] | undefined =>
      Array.isArray(x) ? x : isPlainObject(x) && key !== 'workflows' ? Object.entries(x).map(([id, e]) => (isPlainObject(e) ? { id, ...e } : e)) : undefined;
    if (Array.isArray(prior) || Array.isArray(v)) {
      const a = asList(prior);
      const b = asList(v);
      if (a && b) {
        into[key] = [...a, ...b];
        b.forEach((_, i) => origins.set(joinPath(key, a.length + i), { file, path: joinPath(key, i) }));
        return;
      }
    } else if (isPlainObject(prior) && isPlainObject(v)) {
      for (const [k, e] of Object.entries(v)) {
        const p = joinPath(key, k);
        const was = prior[k];
        if (was === undefined) {
          prior[k] = e;
          origins.set(p, { file, path: p });
        } else if (key === 'workflows' && Array.isArray(was) && Array.isArray(e)) {
          // `main_workflow:` in two files: both lists of workflows count.
          prior[k] = [...was, ...e];
          e.forEach((_, i) => origins.set(joinPath(p, was.length + i), { file, path: joinPath(p, i) }));
        } else {
          const o = origins.get(p);
          issues.errors.push({ file, path: p, message: `${key} "${k}" is also defined in ${o?.file ?? 'another file'}; a name is defined once in a folder` });
        }
      }
      return;
    }
    issues.errors.push({ file, path: key, message: `${key} here cannot be merged with ${key} in ${seen?.file ?? 'another file'} (one is a list, the other a mapping)` });
    return;
  }
  // Settings such as `version` or `project_name`: the first file that sets one wins.
  issues.warnings.push({ file, path: key, message: `"${key}" is also set in ${seen?.file ?? 'another file'}; the value there is used` });
}

function origin(origins: ReadonlyMap<string, Origin>, path: string): Origin | undefined {
  let p = path;
  for (let n = 0; n < 256; n++) {
    const o = origins.get(p);
    if (o) return { file: o.file, path: o.path + path.slice(p.length) };
    if (!p) return undefined;
    p = parentPath(p);
  }
  return undefined;
}
