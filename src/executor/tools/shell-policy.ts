import { StepFailure } from '../../protocol/errors.js';

/**
 * One allow-list entry of `allow.shell_commands`: `"<command> [pattern ...]"`.
 * `wc` allows `wc` with plain operands only; `sort -n -r -k*` also allows the options `-n`,
 * `-r` and any argument starting with `-k`; `cat /srv/shared/*` allows absolute paths below
 * /srv/shared. A pattern matches a whole argument; `*` matches any run of characters.
 */
export interface ShellRule {
  readonly command: string;
  readonly patterns: readonly RegExp[];
  readonly source: string;
}

export function parseShellRule(entry: string): ShellRule {
  const [command = '', ...patterns] = entry.trim().split(/\s+/);
  return { command, patterns: patterns.map(globToRegExp), source: entry.trim() };
}

function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`, 's');
}

/**
 * What makes an argument need permission: an option (`-x`, `--long`, `--long=value`) can make
 * a harmless command write (`sort --output=`) or read a file named elsewhere
 * (`wc --files0-from=`); a path that is absolute, starts at `~`, climbs with `..`, or hides after
 * `=`/`:` (`if=/etc/passwd`, `file:/x`) leaves the working folder. A plain word or a relative
 * name inside the folder needs nothing.
 */
export function needsPermission(arg: string, afterDoubleDash: boolean): 'option' | 'path' | undefined {
  if (!afterDoubleDash && arg.length > 1 && arg.startsWith('-')) return 'option';
  if (/^[/~\\]/.test(arg) || /[=:@,][/~\\]/.test(arg)) return 'path';
  if (arg.split(/[/\\=:,@]/).includes('..')) return 'path';
  return undefined;
}

/**
 * Refuses any argument the rule does not permit. `..` is never permitted, even by a pattern, so
 * `cat /srv/shared/*` cannot reach `/srv/shared/../../etc/shadow`.
 */
export function checkShellArgs(rule: ShellRule, args: readonly string[]): void {
  let afterDoubleDash = false;
  for (const arg of args) {
    if (arg.includes('\0')) throw new StepFailure('invalid_args', `shell: an argument of "${rule.command}" contains a NUL byte`);
    const kind = needsPermission(arg, afterDoubleDash);
    if (!afterDoubleDash && arg === '--') {
      afterDoubleDash = true;
      continue;
    }
    if (!kind) continue;
    const climbs = arg.split(/[/\\=:,@]/).includes('..');
    if (!climbs && rule.patterns.some((p) => p.test(arg))) continue;
    const what = kind === 'option' ? 'option' : 'path';
    const hint = climbs
      ? '".." is never allowed in a shell argument'
      : `the allow-list entry "${rule.source}" does not permit it (an operator allows it by adding a pattern, e.g. "${rule.command} ${arg}")`;
    throw new StepFailure('denied', `shell: ${what} argument "${arg}" of "${rule.command}" refused: ${hint}`);
  }
}
