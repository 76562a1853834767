import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../../protocol/errors.js';
import { MAX_FOLDER_FILES, validateWorkflowFiles, validateWorkflowText, type FolderValidationResult, type ValidateOptions, type ValidationIssue } from '../../workflow/index.js';
import { boolFlag, listFlag, type CliCommand } from '../command.js';

/** `FILE:LINE path: message`, leaving out the parts that are unknown. */
export function formatFileIssue(file: string, i: ValidationIssue, prefix = ''): string {
  const name = i.file !== undefined ? join(file, i.file) : file;
  const where = i.line !== undefined ? `${name}:${i.line}` : name;
  return `${where}${i.path ? ` ${i.path}` : ''}: ${prefix}${i.message}`;
}

/** `--allow-env A,B` (repeatable): names `${env.NAME}` may read. */
export function allowedEnvFlag(args: Parameters<CliCommand['run']>[0]): string[] {
  return listFlag(args, 'allow-env').flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}

export function readWorkflowFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new MeshError('USAGE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The `*.yaml` / `*.yml` files of a LangSwarm config folder, by name. */
export function readConfigFolder(dir: string): Record<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n) && statSync(join(dir, n)).isFile());
  } catch (err) {
    throw new MeshError('USAGE', `cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (names.length > MAX_FOLDER_FILES) throw new MeshError('USAGE', `${dir} has ${names.length} YAML files; a config folder holds at most ${MAX_FOLDER_FILES}`);
  return Object.fromEntries(names.sort().map((n) => [n, readWorkflowFile(join(dir, n))]));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A workflow file, or a LangSwarm config folder (agents.yaml, workflows.yaml, ...) merged into one document. */
export function validateWorkflowPath(path: string, opts: ValidateOptions): FolderValidationResult & { yaml?: string } {
  if (isDirectory(path)) {
    const r = validateWorkflowFiles(readConfigFolder(path), opts);
    return { ...r, ...(r.merged !== undefined && { yaml: r.merged }) };
  }
  const yaml = readWorkflowFile(path);
  return { ...validateWorkflowText(yaml, opts), used: [path], yaml };
}

export const validateCommand: CliCommand = {
  name: 'validate',
  summary: 'check workflow files or LangSwarm config folders: every error with its file, YAML path and line',
  usage: 'FILE|DIR... [--allow-env NAME,...] [--strict] [--json]',
  options: { json: { type: 'boolean' }, strict: { type: 'boolean' }, 'allow-env': { type: 'string', multiple: true } },
  async run(args, io) {
    if (args.positionals.length === 0) throw new MeshError('USAGE', 'name at least one workflow file');
    const allowedEnv = allowedEnvFlag(args);
    const strict = boolFlag(args, 'strict');
    const results = args.positionals.map((file) => ({ file, ...validateWorkflowPath(file, { allowedEnv, strict }) }));
    if (boolFlag(args, 'json')) {
      io.out(JSON.stringify(results.map(({ file, valid, errors, warnings, faults }) => ({ file, valid, errors, warnings, faults })), null, 2));
    } else {
      for (const r of results) {
        // A fault loads, as in LangSwarm, but the step fails when a run reaches it: say so up front.
        const failing = r.faults.length ? ` (${r.faults.length} step${r.faults.length > 1 ? 's' : ''} cannot run as written and fail${r.faults.length > 1 ? '' : 's'} when reached, see the warnings; --strict refuses this)` : '';
        if (r.valid) io.out(`${r.file}: valid${failing}`);
        else for (const e of r.errors) io.out(formatFileIssue(r.file, e));
        for (const w of r.warnings) io.err(formatFileIssue(r.file, w, 'warning: '));
      }
    }
    return results.every((r) => r.valid) ? 0 : 1;
  },
};
