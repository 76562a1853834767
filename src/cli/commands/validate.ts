import { readFileSync } from 'node:fs';
import { MeshError } from '../../protocol/errors.js';
import { validateWorkflowText, type ValidationIssue } from '../../workflow/index.js';
import { boolFlag, listFlag, type CliCommand } from '../command.js';

/** `FILE:LINE path: message`, leaving out the parts that are unknown. */
export function formatFileIssue(file: string, i: ValidationIssue, prefix = ''): string {
  const where = i.line !== undefined ? `${file}:${i.line}` : file;
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

export const validateCommand: CliCommand = {
  name: 'validate',
  summary: 'check workflow files: every error with its YAML path and line',
  usage: 'FILE... [--allow-env NAME,...] [--json]',
  options: { json: { type: 'boolean' }, 'allow-env': { type: 'string', multiple: true } },
  async run(args, io) {
    if (args.positionals.length === 0) throw new MeshError('USAGE', 'name at least one workflow file');
    const allowedEnv = allowedEnvFlag(args);
    const results = args.positionals.map((file) => ({ file, ...validateWorkflowText(readWorkflowFile(file), { allowedEnv }) }));
    if (boolFlag(args, 'json')) {
      io.out(JSON.stringify(results.map(({ file, valid, errors, warnings }) => ({ file, valid, errors, warnings })), null, 2));
    } else {
      for (const r of results) {
        if (r.valid) io.out(`${r.file}: valid`);
        else for (const e of r.errors) io.out(formatFileIssue(r.file, e));
        for (const w of r.warnings) io.err(formatFileIssue(r.file, w, 'warning: '));
      }
    }
    return results.every((r) => r.valid) ? 0 : 1;
  },
};
