/** Validation problems, each tied to a YAML path (and, once known, a line). */

/** One problem: `path` is the YAML path (`workflows.main_workflow[0].steps[2].tool`), line 1-based. */
export interface ValidationIssue {
  /** For a config folder (several files): the file the problem is in; `path` is then a path in it. */
  file?: string;
  path: string;
  line?: number;
  message: string;
}

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** Appends a map key or a list index to a YAML path, quoting keys that are not plain. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (!PLAIN_KEY.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base ? `${base}.${key}` : key;
}

/** The path one level up (`a.b[2]` → `a.b`, `a.b` → `a`, `a` → ``). */
export function parentPath(path: string): string {
  const m = /^(.*?)(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\]|\.?[A-Za-z0-9_-]+)$/.exec(path);
  return m ? (m[1] ?? '') : '';
}

/** Collects errors and warnings while the parser walks a document. */
export class IssueList {
  readonly errors: ValidationIssue[] = [];
  readonly warnings: ValidationIssue[] = [];
  /**
   * Faults: a step that cannot run as written (an unknown agent, a route to no step, a LangSwarm
   * function wfmesh does not have). LangSwarm loads such files and fails when a run reaches the
   * step; wfmesh does the same, so they are warnings unless validation is strict.
   */
  readonly faults: ValidationIssue[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  fault(path: string, message: string): void {
    this.faults.push({ path, message });
  }

  get ok(): boolean {
    return this.errors.length === 0;
  }
}
