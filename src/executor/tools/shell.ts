import { execFile, type ExecFileException } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { StepFailure } from '../../protocol/errors.js';
import type { ToolHandler } from '../types.js';
import { failureFromAbort, parseArgs } from '../failures.js';
import { methodOf } from './method.js';
import { checkShellArgs, parseShellRule } from './shell-policy.js';

const DEFAULT_TIMEOUT_MS = 30_000;

const RunArgs = z.object({
  command: z.string().min(1),
  args: z.array(z.union([z.string(), z.number()]).transform(String)).default([]),
  stdin: z.string().optional(),
  timeout_ms: z.number().int().positive().max(3_600_000).optional(),
});
const Settings = z
  .object({ commands: z.array(z.string()).optional(), timeout_ms: z.number().int().positive().optional() })
  .loose();

export interface ShellResult {
  exit_code: number;
  stdout: string;
  stderr: string;
}

/** The only variables a command sees, besides the node's `allow.env_vars`. */
const BASE_ENV = ['PATH', 'LANG'] as const;

/**
 * The child's environment: PATH, LANG, HOME (its working folder) and the variables the node
 * lets workflows read. Nothing else: the node's environment holds NATS_PASS, WFMESH_MCP_TOKEN,
 * API keys, and `sort /proc/self/environ` would print them.
 */
export function shellEnvironment(cwd: string, allowedVars: readonly string[], from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
  for (const name of [...BASE_ENV, ...allowedVars]) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  env.HOME = cwd;
  return env;
}

/**
 * `shell.run`: runs one allow-listed command with arguments, never through a shell (no
 * expansion, pipes or `;`). Off unless the node allows commands; a workflow's `settings.commands`
 * may narrow the list. Options and paths outside the working folder are refused unless the
 * allow-list entry names them (see shell-policy.ts). The command runs in the node's filesystem
 * root (or, on a node without one, in an empty folder made for the call) with a minimal
 * environment. Killed (SIGKILL) on timeout, on abort, or when its output passes the node's
 * max_output_bytes; a non-zero exit fails the step with the tail of stderr.
 */
export const shellTool: ToolHandler = {
  type: 'shell',
  methods: ['run'],
  schemas: { run: { description: 'Run one allow-listed command with arguments (no shell); returns {exit_code, stdout, stderr}', args: RunArgs } },
  async run(call, ctx) {
    methodOf(call, 'shell', ['run'], 'run');
    const args = parseArgs(RunArgs, call.args, 'shell.run');
    const settings = parseArgs(Settings, call.settings, 'shell settings');
    const rule = ctx.env.allow.shell_commands
      .map(parseShellRule)
      .find((r) => r.command === args.command && (!settings.commands || settings.commands.includes(r.command)));
    if (!rule) {
      const why = ctx.env.allow.shell_commands.length === 0 ? 'this node allows no commands (allow.shell_commands is empty)' : 'it is not in the allow-list (allow.shell_commands)';
      throw new StepFailure('denied', `shell: command "${args.command}" refused: ${why}`);
    }
    checkShellArgs(rule, args.args);
    const timeoutMs = args.timeout_ms ?? settings.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    const cap = ctx.env.max_output_bytes;
    const root = ctx.env.allow.filesystem_root;
    let scratch: string | undefined;
    if (root !== undefined && !existsSync(root)) throw new StepFailure('tool_error', "shell: the node's filesystem root does not exist", false);
    const cwd = root ?? (scratch = await mkdtemp(join(tmpdir(), 'wfmesh-shell-')));
    const childEnv = shellEnvironment(cwd, ctx.env.allow.env_vars);

    try {
      return await new Promise<ShellResult>((resolve, reject) => {
        const child = execFile(
          args.command,
          args.args,
          {
            shell: false,
            timeout: timeoutMs,
            killSignal: 'SIGKILL',
            maxBuffer: cap,
            signal: ctx.signal,
            encoding: 'utf8',
            windowsHide: true,
            env: childEnv,
            cwd,
          },
          (err: ExecFileException | null, stdout: string, stderr: string) => {
            if (!err) return resolve({ exit_code: 0, stdout, stderr });
            reject(shellFailure(err, args.command, timeoutMs, cap, stderr, ctx.signal));
          },
        );
        child.stdin?.on('error', () => undefined); // a command that never reads stdin closes it early
        child.stdin?.end(args.stdin ?? '');
      });
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    }
  },
};

function shellFailure(err: ExecFileException, command: string, timeoutMs: number, cap: number, stderr: string, signal: AbortSignal): StepFailure {
  if (signal.aborted) return failureFromAbort(signal);
  if (err.code === 'ENOENT') return new StepFailure('tool_error', `shell: command "${command}" not found on this node`, false);
  if (err.code === 'EACCES') return new StepFailure('tool_error', `shell: command "${command}" is not executable`, false);
  if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
    return new StepFailure('tool_error', `shell: "${command}" printed more than the node's max_output_bytes limit of ${cap} bytes and was killed`, false);
  }
  if (err.killed && err.signal === 'SIGKILL') return new StepFailure('timeout', `shell: "${command}" timed out after ${timeoutMs} ms and was killed`);
  const tail = stderr.trim().slice(-500);
  const how = typeof err.code === 'number' ? `exited with code ${err.code}` : err.signal ? `was killed by ${err.signal}` : err.message;
  return new StepFailure('tool_error', `shell: "${command}" ${how}${tail ? `: ${tail}` : ''}`);
}
