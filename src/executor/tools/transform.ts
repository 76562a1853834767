import { z } from 'zod';
import { StepFailure } from '../../protocol/errors.js';
import { runLater, type ToolCall, type ToolHandler } from '../types.js';
import { parseArgs } from '../failures.js';
import { methodOf } from './method.js';

const METHODS = ['pick', 'template', 'json_parse', 'concat', 'split', 'length'] as const;

const PickArgs = z.union([
  z.object({ value: z.unknown(), path: z.string().min(1) }),
  z.object({ value: z.unknown(), fields: z.array(z.string().min(1)).min(1) }),
]);
const TemplateArgs = z.object({ template: z.string(), values: z.record(z.string(), z.unknown()).default({}) });
const JsonParseArgs = z.object({ text: z.string() });
const ConcatArgs = z.union([
  z.object({ items: z.array(z.unknown()), separator: z.string().optional() }),
  z.object({ a: z.unknown(), b: z.unknown(), separator: z.string().optional() }),
]);
const SplitArgs = z.object({ text: z.string(), separator: z.string().default('\n') });
const LengthArgs = z.object({ value: z.unknown() });

/** `transform`: small pure data reshaping between steps. */
export const transformTool: ToolHandler = {
  type: 'transform',
  methods: METHODS,
  schemas: {
    pick: { description: 'The value at a dotted path (path), or several fields (fields) of value', args: PickArgs },
    template: { description: 'Fill {{name}} placeholders of template from values', args: TemplateArgs },
    json_parse: { description: 'Parse JSON text', args: JsonParseArgs },
    concat: { description: 'Join strings, flatten arrays or merge objects (items, or a and b)', args: ConcatArgs },
    split: { description: 'Split text by separator (default newline)', args: SplitArgs },
    length: { description: 'Length of a string or list, or number of keys of an object', args: LengthArgs },
  },
  run: runLater(transform),
  runNow: transform,
};

/** One transform call, done at once (an instant tool). */
function transform(call: ToolCall): unknown {
  const method = methodOf(call, 'transform', METHODS);
  const where = `transform.${method}`;
  switch (method) {
    case 'pick': {
      const args = parseArgs(PickArgs, call.args, where);
      if ('path' in args) return pickPath(args.value, args.path, where);
      const out: Record<string, unknown> = {};
      for (const field of args.fields) out[field.split('.').at(-1) ?? field] = pickPath(args.value, field, where);
      return out;
    }
    case 'template': {
      const args = parseArgs(TemplateArgs, call.args, where);
      return renderTemplate(args.template, args.values, where);
    }
    case 'json_parse': {
      const { text } = parseArgs(JsonParseArgs, call.args, where);
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new StepFailure('invalid_args', `${where}: args.text is not JSON: ${(err as Error).message}`);
      }
    }
    case 'concat': {
      const args = parseArgs(ConcatArgs, call.args, where);
      const items = 'items' in args ? args.items : [args.a, args.b];
      return concat(items, args.separator, where);
    }
    case 'split': {
      const { text, separator } = parseArgs(SplitArgs, call.args, where);
      return text.split(separator);
    }
    case 'length': {
      const { value } = parseArgs(LengthArgs, call.args, where);
      return lengthOf(value, where);
    }
  }
}

/** Splits `a.b[0].c` / `a.b.0.c` into keys. */
function pathKeys(path: string): string[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((k) => k.length > 0);
}

/** The value at a dotted path; a missing key fails loudly, naming where the path broke. */
export function pickPath(value: unknown, path: string, where: string): unknown {
  let cur = value;
  const walked: string[] = [];
  for (const key of pathKeys(path)) {
    const next = childOf(cur, key);
    if (next === undefined) {
      const at = walked.length ? walked.join('.') : 'the value';
      throw new StepFailure('invalid_args', `${where}: path "${path}" not found: ${at} has no "${key}"`);
    }
    walked.push(key);
    cur = next;
  }
  return cur;
}

function childOf(cur: unknown, key: string): unknown {
  if (Array.isArray(cur)) return /^\d+$/.test(key) ? cur[Number(key)] : key === 'length' ? cur.length : undefined;
  if (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, key)) return (cur as Record<string, unknown>)[key];
  return undefined;
}

/** `{{name}}` / `{{ a.b }}` placeholders; every unknown name is reported at once. */
function renderTemplate(template: string, values: Record<string, unknown>, where: string): string {
  const missing: string[] = [];
  const out = template.replace(/\{\{\s*([\w.[\]-]+)\s*\}\}/g, (_m, name: string) => {
    try {
      const v = pickPath(values, name, where);
      return typeof v === 'string' ? v : JSON.stringify(v);
    } catch {
      missing.push(name);
      return '';
    }
  });
  if (missing.length) {
    throw new StepFailure('invalid_args', `${where}: no value for ${missing.map((m) => `{{${m}}}`).join(', ')} in args.values`);
  }
  return out;
}

/** Strings join, arrays flatten one level, objects merge; mixing kinds is an error. */
function concat(items: unknown[], separator: string | undefined, where: string): unknown {
  if (items.every((i) => typeof i === 'string' || typeof i === 'number')) return items.map(String).join(separator ?? '');
  if (items.every(Array.isArray)) return (items as unknown[][]).flat(1);
  if (items.every((i) => i !== null && typeof i === 'object' && !Array.isArray(i))) {
    return Object.assign({}, ...(items as object[])) as Record<string, unknown>;
  }
  const kinds = [...new Set(items.map((i) => (Array.isArray(i) ? 'array' : i === null ? 'null' : typeof i)))];
  throw new StepFailure('invalid_args', `${where}: cannot concatenate a mix of ${kinds.join(', ')} (use all strings, all arrays or all objects)`);
}

function lengthOf(value: unknown, where: string): number {
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (value !== null && typeof value === 'object') return Object.keys(value).length;
  throw new StepFailure('invalid_args', `${where}: args.value has no length (got ${value === null ? 'null' : typeof value})`);
}
