import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { StepFailure } from '../../protocol/errors.js';
import type { StepRunContext, ToolCall, ToolHandler } from '../types.js';
import { parseArgs } from '../failures.js';
import { methodOf } from './method.js';

const METHODS = ['read_file', 'write_file', 'list_dir'] as const;
const Encoding = z.enum(['utf8', 'base64']).default('utf8');
const ReadArgs = z.object({ path: z.string().min(1), encoding: Encoding });
const WriteArgs = z.object({ path: z.string().min(1), content: z.unknown().optional(), encoding: Encoding });
const ListArgs = z.object({ path: z.string().min(1).default('.') });
const Settings = z.object({ root: z.string().min(1).optional() }).loose();

/**
 * `filesystem`: read_file, write_file, list_dir inside a root. The root is the node's
 * `allow.filesystem_root`, or a folder inside it named by the tool's `settings.root`. Absolute
 * paths and `..` are refused outright; every path is resolved through its symbolic links and
 * refused when it lands outside the root; files are opened with O_NOFOLLOW so a link swapped in
 * after the check is not followed either.
 */
export const filesystemTool: ToolHandler = {
  type: 'filesystem',
  methods: METHODS,
  schemas: {
    read_file: { description: 'Read a file (a path relative to the tool root); returns its text, or base64 with encoding base64', args: ReadArgs },
    write_file: { description: 'Write content to a file (relative path; folders are made); JSON values are written as pretty JSON', args: WriteArgs },
    list_dir: { description: 'List a folder (relative path, default "."): name, type and size of each entry', args: ListArgs },
  },
  async run(call, ctx) {
    const method = methodOf(call, 'filesystem', METHODS);
    const where = `filesystem.${method}`;
    const root = await toolRoot(call, ctx);
    switch (method) {
      case 'read_file': {
        const args = parseArgs(ReadArgs, call.args, where);
        return readFileInside(root, args.path, args.encoding, ctx.env.max_output_bytes);
      }
      case 'write_file': {
        const args = parseArgs(WriteArgs, call.args, where);
        if (args.content === undefined) throw new StepFailure('invalid_args', `${where}: args.content is required`);
        return writeFileInside(root, args.path, args.content, args.encoding);
      }
      case 'list_dir': {
        const args = parseArgs(ListArgs, call.args, where);
        return listDirInside(root, args.path);
      }
    }
  },
};

/** The real path of the root this call may use; settings may narrow the node's root, never widen it. */
async function toolRoot(call: ToolCall, ctx: StepRunContext): Promise<string> {
  const configured = ctx.env.allow.filesystem_root;
  if (configured === undefined) throw new StepFailure('denied', 'filesystem: this node has no filesystem root (allow.filesystem_root), so the tool is off');
  const nodeRoot = await realpath(resolve(configured)).catch(() => {
    throw new StepFailure('tool_error', `filesystem: the node's filesystem root does not exist`, false);
  });
  const settings = parseArgs(Settings, call.settings, 'filesystem settings');
  if (!settings.root) return nodeRoot;
  const wanted = resolve(nodeRoot, settings.root);
  const real = await realpath(wanted).catch(() => {
    throw new StepFailure('tool_error', `filesystem: settings.root "${settings.root}" does not exist`, false);
  });
  if (!isInside(nodeRoot, real)) {
    throw new StepFailure('denied', `filesystem: settings.root "${settings.root}" is outside the node's filesystem root`);
  }
  return real;
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Refuses what is never allowed, before touching the disk. */
function checkShape(path: string): void {
  if (path.includes('\0')) throw new StepFailure('invalid_args', 'filesystem: path contains a NUL byte');
  if (isAbsolute(path) || /^[a-zA-Z]:/.test(path) || path.startsWith('\\')) {
    throw new StepFailure('denied', `filesystem: absolute path "${path}" refused: give a path relative to the tool's root`);
  }
  if (path.split(/[\\/]+/).includes('..')) {
    throw new StepFailure('denied', `filesystem: path "${path}" refused: ".." may not appear in a path`);
  }
}

/**
 * Resolves `path` under `root` to a real path inside it. An existing path is resolved through its
 * links; a missing one through its deepest existing ancestor (for writes). A link leading
 * outside, or dangling, is refused.
 */
async function resolveInside(root: string, path: string, mustExist: boolean): Promise<{ real: string; exists: boolean }> {
  checkShape(path);
  const candidate = join(root, path);
  const outside = (): StepFailure =>
    new StepFailure('denied', `filesystem: path "${path}" resolves outside the tool's root through a symbolic link`);
  try {
    const real = await realpath(candidate);
    if (!isInside(root, real)) throw outside();
    return { real, exists: true };
  } catch (err) {
    if (err instanceof StepFailure) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsFailure(err, path);
  }
  if (mustExist) throw new StepFailure('tool_error', `filesystem: no such file or directory: "${path}"`, false);
  // Missing: walk up to the deepest existing ancestor and resolve that; a dangling link is refused.
  const missing: string[] = [];
  let cur = candidate;
  for (;;) {
    const st = await lstat(cur).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(fsFailure(e, path))));
    if (st) break;
    missing.unshift(basename(cur));
    cur = dirname(cur);
  }
  const realAncestor = await realpath(cur).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new StepFailure('denied', `filesystem: path "${path}" goes through a dangling symbolic link`);
    throw fsFailure(e, path);
  });
  if (!isInside(root, realAncestor)) throw outside();
  return { real: join(realAncestor, ...missing), exists: false };
}

async function readFileInside(root: string, path: string, encoding: 'utf8' | 'base64', maxBytes: number): Promise<string> {
  const { real } = await resolveInside(root, path, true);
  const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: unknown) => Promise.reject(fsFailure(e, path)));
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new StepFailure('invalid_args', `filesystem.read_file: "${path}" is a directory (use list_dir)`);
    if (st.size > maxBytes) {
      throw new StepFailure('tool_error', `filesystem.read_file: "${path}" is ${st.size} bytes, over the node's max_output_bytes limit of ${maxBytes} bytes`, false);
    }
    return (await fh.readFile()).toString(encoding);
  } finally {
    await fh.close();
  }
}

async function writeFileInside(root: string, path: string, content: unknown, encoding: 'utf8' | 'base64'): Promise<{ path: string; bytes: number }> {
  const { real } = await resolveInside(root, path, false);
  // Non-string content (a previous step's JSON output) is written as pretty JSON.
  const text = typeof content === 'string' ? content : JSON.stringify(content, null, 2);
  const data = Buffer.from(text, encoding);
  await mkdir(dirname(real), { recursive: true }).catch((e: unknown) => Promise.reject(fsFailure(e, path)));
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  const fh = await open(real, flags, 0o644).catch((e: unknown) => Promise.reject(fsFailure(e, path)));
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  return { path: relative(root, real).split(sep).join('/'), bytes: data.length };
}

export interface DirEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size?: number;
}

async function listDirInside(root: string, path: string): Promise<DirEntry[]> {
  const { real } = await resolveInside(root, path, true);
  const entries = await readdir(real, { withFileTypes: true }).catch((e: unknown) => Promise.reject(fsFailure(e, path)));
  const out: DirEntry[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isFile()) {
      const st = await lstat(join(real, e.name)).catch(() => undefined);
      out.push(st ? { name: e.name, type: 'file', size: st.size } : { name: e.name, type: 'file' });
    } else {
      out.push({ name: e.name, type: e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : 'other' });
    }
  }
  return out;
}

function fsFailure(err: unknown, path: string): StepFailure {
  if (err instanceof StepFailure) return err;
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new StepFailure('tool_error', `filesystem: no such file or directory: "${path}"`, false);
    case 'ELOOP':
      return new StepFailure('denied', `filesystem: path "${path}" is a symbolic link (links are not followed when opening)`);
    case 'EACCES':
    case 'EPERM':
      return new StepFailure('tool_error', `filesystem: permission denied: "${path}"`, false);
    case 'ENOTDIR':
      return new StepFailure('tool_error', `filesystem: a part of "${path}" is not a directory`, false);
    case 'EISDIR':
      return new StepFailure('invalid_args', `filesystem: "${path}" is a directory`);
    default:
      return new StepFailure('tool_error', `filesystem: "${path}": ${(err as Error).message}`);
  }
}
