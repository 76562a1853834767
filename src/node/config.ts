import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument, LineCounter, isMap, isSeq, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { GpuSchema } from '../protocol/advert.js';
import { MeshError } from '../protocol/errors.js';

/** The node config file (`--config FILE`), DESIGN.md section 2. Unknown keys are errors. */
export const NodeConfigFileSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" and "-" only').optional(),
    region: z.string().min(1).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    max_concurrency: z.number().int().positive().optional(),
    heartbeat_ms: z.number().int().min(50).optional(),
    /** How often a node probes one peer while nothing runs in the mesh (default 2 × heartbeat_ms). */
    idle_probe_ms: z.number().int().min(25).optional(),
    /** How often an idle node probes its ring successor while a node watches the servers' connections (default 10 × idle_probe_ms). */
    watched_probe_ms: z.number().int().min(25).optional(),
    /** Whether this node may watch the NATS servers' connection lists for the mesh (default true). */
    connection_watch: z.boolean().optional(),
    /** Seconds a stopping node waits for its in-flight steps (default 30). */
    drain_timeout: z.number().nonnegative().optional(),
    nats: z
      .object({
        servers: z.array(z.string().min(1)).min(1).optional(),
        token: z.string().optional(),
        user: z.string().optional(),
        pass: z.string().optional(),
        creds: z.string().optional(),
        nkey: z.string().optional(),
        tls: z.object({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional() }).strict().optional(),
      })
      .strict()
      .optional(),
    mcp: z
      .union([
        z.literal(false),
        z
          .object({
            port: z.number().int().min(0).max(65535).optional(),
            host: z.string().optional(),
            token: z.string().optional(),
            origins: z.array(z.string().min(1)).optional(),
            progress_ms: z.number().int().min(100).optional(),
          })
          .strict(),
      ])
      .optional(),
    hardware: z
      .object({
        gpus: z.array(GpuSchema.omit({ declared: true }).strict()).optional(),
        cpus: z.number().int().positive().optional(),
        memory_mib: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    llm: z
      .object({
        base_url: z.string().url().optional(),
        api_key_env: z.string().optional(),
        models: z.array(z.string().min(1)).optional(),
        timeout_ms: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    tools: z.array(z.string().min(1)).optional(),
    allow: z
      .object({
        filesystem_root: z.string().optional(),
        http_hosts: z.array(z.string()).optional(),
        shell_commands: z.array(z.string()).optional(),
        env_vars: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({ max_input_bytes: z.number().int().positive().optional(), max_output_bytes: z.number().int().positive().optional() })
      .strict()
      .optional(),
    store: z
      .object({
        /** How long execution records live after their last change: `7d`, `12h`, or seconds. */
        execution_ttl: z.union([z.string().min(1), z.number().positive()]).optional(),
        replicas: z.union([z.literal(1), z.literal(3), z.literal(5)]).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type NodeConfigFile = z.infer<typeof NodeConfigFileSchema>;

function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: (string | number)[]): number | undefined {
  let node: YamlNode | null | undefined = doc.contents as YamlNode | null;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      node = (pair?.value ?? pair?.key) as YamlNode | undefined;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key] as YamlNode | undefined;
    } else break;
  }
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : counter.linePos(offset).line;
}

/** Reads and validates a node config file; every problem names the file, the path and the line. */
export function loadNodeConfigFile(file: string): NodeConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new MeshError('CONFIG_INVALID', `${file}: cannot read the config file: ${(err as Error).message}`);
  }
  return parseNodeConfig(text, file);
}

export function parseNodeConfig(text: string, file: string): NodeConfigFile {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = counter.linePos(e.pos[0]).line;
    throw new MeshError('CONFIG_INVALID', `${file}${line ? `:${line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const parsed = NodeConfigFileSchema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const full = keys.length === 1 ? [...path, keys[0]!] : path;
    const line = lineOf(doc, counter, full);
    const where = full.length ? full.join('.') : '(top level)';
    return `${file}${line ? `:${line}` : ''}: ${where}: ${issue.message}`;
  });
  throw new MeshError('CONFIG_INVALID', `invalid node config:\n  ${problems.join('\n  ')}`, problems);
}

/** Resolves a config-relative path against the config file's folder. */
export function resolveFrom(file: string | undefined, p: string): string {
  return file ? resolve(file, '..', p) : resolve(p);
}
