import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshError } from '../../protocol/errors.js';

/** Whether `p` is `dir` or lies below it (both absolute, normalised). */
export function isInsideDir(dir: string, p: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The real path of `p`, or of its deepest existing ancestor joined with the rest (a root made later). */
function realOrResolved(p: string): string {
  const abs = resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return join(realpathSync(cur), ...rest);
    } catch {
      const up = dirname(cur);
      if (up === cur) return abs;
      rest.unshift(cur.slice(up.length).replace(/^[\\/]+/, ''));
      cur = up;
    }
  }
}

/** The folder holding wfmesh's package.json, found from this module's own file; undefined in a bundle. */
function packageDir(): string | undefined {
  const here = (import.meta as { url?: string }).url;
  if (!here) return undefined;
  let dir = dirname(fileURLToPath(here));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'wfmesh') return dir;
      } catch {
        /* not ours: keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Where the program's own code lives: the package folder and its code folders (dist, src, bin,
 * node_modules), the entry script's folder and the Node binary's folder. A step that could write
 * there could replace code the node runs later (an isolated worker, a module loaded lazily).
 */
export function programLocations(): { containers: string[]; code: string[] } {
  const pkg = packageDir();
  const entry = process.argv[1] ? dirname(realOrResolved(process.argv[1])) : undefined;
  const node = dirname(realOrResolved(process.execPath));
  const code = pkg ? ['dist', 'src', 'bin', 'node_modules'].map((d) => realOrResolved(join(pkg, d))) : [];
  const containers = [...(pkg ? [realOrResolved(pkg)] : []), ...(entry ? [entry] : []), node];
  return { containers, code: [...code, ...containers.filter((c) => c !== (pkg && realOrResolved(pkg)))] };
}

/**
 * Refuses a filesystem root that contains the program's files or lies inside its code: the
 * `filesystem` tool writes there, and the node must never run what a workflow wrote. Throws a
 * CONFIG_INVALID MeshError naming both paths; returns the root's absolute path otherwise.
 */
export function checkFilesystemRoot(root: string, source = 'allow.filesystem_root'): string {
  const real = realOrResolved(root);
  const { containers, code } = programLocations();
  for (const dir of containers) {
    if (isInsideDir(real, dir)) {
      throw new MeshError(
        'CONFIG_INVALID',
        `${source} "${root}" contains the program's own files (${dir}): steps could overwrite the code this node runs. Choose a data folder of its own, e.g. /var/lib/wfmesh/files`,
      );
    }
  }
  for (const dir of code) {
    if (isInsideDir(dir, real)) {
      throw new MeshError('CONFIG_INVALID', `${source} "${root}" lies inside the program's code (${dir}). Choose a data folder of its own, e.g. /var/lib/wfmesh/files`);
    }
  }
  return resolve(root);
}
