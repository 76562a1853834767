import { MeshError } from '../protocol/errors.js';
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CliIo {
  /** Results: stdout. */
  out(text: string): void;
  /** Messages for people: stderr. */
  err(text: string): void;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** One `wfmesh` sub-command. Commands are thin: they parse, call the library, print. */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  /** Internal commands (e.g. `__step-worker`) are left out of `wfmesh --help`. */
  readonly hidden?: boolean;
  /** Usage text shown by `wfmesh NAME --help` (lines after "usage: wfmesh NAME"). */
  readonly usage: string;
  readonly options: OptionSpec;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** Reads a string flag, or undefined. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Reads a repeatable string flag. */
export function listFlag(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export function boolFlag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Reads an integer flag within [min, max]; absent gives `fallback`. A bad value is a usage error naming the flag. */
export function intFlag(args: ParsedArgs, name: string, range: { min: number; max?: number }): number | undefined;
export function intFlag(args: ParsedArgs, name: string, range: { min: number; max?: number }, fallback: number): number;
export function intFlag(args: ParsedArgs, name: string, range: { min: number; max?: number }, fallback?: number): number | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(n) || n < range.min || n > max) {
    const want = range.max !== undefined ? `an integer from ${range.min} to ${range.max}` : range.min === 0 ? 'a non-negative integer' : `an integer of at least ${range.min}`;
    throw new MeshError('USAGE', `--${name} must be ${want}, got "${v}"`);
  }
  return n;
}
