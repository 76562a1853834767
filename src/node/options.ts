import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AllowPolicy, LlmSettings } from '../executor/types.js';
import type { DeclaredHardware } from '../mesh/probe.js';
import type { NatsConnectionSettings } from '../nats/connection.js';
import { inboxPrefix } from '../nats/permissions.js';
import { checkFilesystemRoot } from '../executor/tools/filesystem-root.js';
import { MeshError } from '../protocol/errors.js';
import { loadNodeConfigFile, resolveFrom, type NodeConfigFile } from './config.js';

/** Flags of `wfmesh node` (and the per-node overrides `wfmesh up` passes). */
export interface NodeFlags {
  config?: string;
  nats?: string;
  name?: string;
  region?: string;
  labels?: string[];
  tools?: string;
  mcpPort?: number;
  /** `mcpPort` is a default the caller picked (as `wfmesh up` does), not the user's: a taken one moves on. */
  mcpPortFallback?: boolean;
  mcpHost?: string;
  /** Host name peers and clients should use for this node's HTTP/MCP URL (when it binds 0.0.0.0). */
  advertiseHost?: string;
  noMcp?: boolean;
  maxConcurrency?: number;
  /** Seconds a stopping node waits for its in-flight steps. */
  drainTimeoutS?: number;
  /** The filesystem tool's root when the config file names none (`wfmesh up` gives each node one under --data). */
  filesystemRoot?: string;
}

/** A node's options after config file, env and flags are merged and checked: built once, read everywhere. */
export interface NodeOptions {
  name: string;
  region: string;
  labels: Record<string, string>;
  maxConcurrency: number;
  heartbeatMs: number;
  deadAfterMs: number;
  /** How often a node probes one peer while nothing runs in the mesh (default 2 heartbeats; half a heartbeat: always the busy rate). */
  idleProbeMs: number;
  /**
   * While a node of the mesh watches the NATS servers' connection lists (it notices kills within an
   * idle period), how often an idle node probes its ring successor, for frozen nodes (default 10 idle periods).
   */
  watchedProbeMs: number;
  /** Whether this node may watch the servers' connection lists for the mesh (default true: when the servers let it). */
  connectionWatch: boolean;
  /** How long a stopping node waits for its in-flight steps (default 30 s). */
  drainTimeoutMs: number;
  nats: NatsConnectionSettings;
  /**
   * The HTTP port and what MCP serves on it. `portFallback`: the port is a default, so a taken
   * one moves on to the next free one. `origins`: browser origins allowed on /mcp besides
   * loopback ones; `progressMs`: how often a waiting MCP tool call sends a progress heartbeat.
   */
  http: { host: string; port: number; portFallback: boolean; mcp: boolean; token?: string; advertiseHost?: string; origins?: string[]; progressMs?: number };
  hardware: DeclaredHardware;
  llm: LlmSettings;
  /** Tool types to offer; undefined: every built-in tool the allow-list permits. */
  tools?: string[];
  allow: AllowPolicy;
  limits: { maxInputBytes: number; maxOutputBytes: number };
  /** Shared state in JetStream KV: how long execution records live, and bucket replicas (undefined: min(3, servers)). */
  store: { executionTtlMs: number; replicas: number | undefined };
}

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_MCP_PORT = 4020;

/** Parses `k=v` pairs (flags or WFMESH_LABELS); a pair without "=" is an error naming it. */
export function parseLabels(pairs: string[], source: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs.flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new MeshError('USAGE', `${source}: label "${pair}" must look like key=value`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function onOff(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(1|true|on|yes)$/i.test(value)) return true;
  if (/^(0|false|off|no)$/i.test(value)) return false;
  throw new MeshError('USAGE', `${name} must be on or off, got "${value}"`);
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new MeshError('USAGE', `${name} must be a positive integer, got "${value}"`);
  return n;
}

const TTL_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A retention period: `7d`, `12h`, `30m`, `45s`, or a number of seconds. */
function parseTtl(value: string | number | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$/.exec(String(value));
  const ms = m ? Math.round(Number(m[1]) * (TTL_UNITS[m[2] ?? 's'] ?? 1_000)) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1_000) throw new MeshError('USAGE', `${name} must be a duration such as 7d, 12h or 3600 (seconds, at least 1), got "${value}"`);
  return ms;
}

/** NATS connection settings from `--nats`, env (NATS_URL, NATS_TOKEN, ...) and the config file's `nats`. */
export function compileNatsSettings(
  natsFlag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  file: NodeConfigFile = {},
  rel: (p: string) => string = (p) => p,
): NatsConnectionSettings {
  const servers = splitList(natsFlag) ?? splitList(env.NATS_URL) ?? file.nats?.servers ?? [DEFAULT_NATS_URL];
  const nats: NatsConnectionSettings = { servers };
  const token = env.NATS_TOKEN ?? file.nats?.token;
  if (token) nats.token = token;
  const user = env.NATS_USER ?? file.nats?.user;
  if (user !== undefined) {
    nats.user = user;
    nats.pass = env.NATS_PASS ?? file.nats?.pass ?? '';
  }
  const creds = env.NATS_CREDS ?? (file.nats?.creds ? rel(file.nats.creds) : undefined);
  if (creds) nats.creds = creds;
  const nkey = env.NATS_NKEY ?? (file.nats?.nkey ? rel(file.nats.nkey) : undefined);
  if (nkey) nats.nkey = nkey;
  const tls = {
    ca: env.NATS_TLS_CA ?? (file.nats?.tls?.ca ? rel(file.nats.tls.ca) : undefined),
    cert: env.NATS_TLS_CERT ?? (file.nats?.tls?.cert ? rel(file.nats.tls.cert) : undefined),
    key: env.NATS_TLS_KEY ?? (file.nats?.tls?.key ? rel(file.nats.tls.key) : undefined),
  };
  if (tls.ca || tls.cert || tls.key) nats.tls = tls;
  const inbox = env.NATS_INBOX_PREFIX?.trim();
  if (inbox) nats.inboxPrefix = inbox;

  return nats;
}

/** Flags beat env, env beats the config file, the file beats defaults. */
export function compileNodeOptions(flags: NodeFlags, env: NodeJS.ProcessEnv = process.env): NodeOptions {
  const file: NodeConfigFile = flags.config ? loadNodeConfigFile(flags.config) : {};
  const rel = (p: string) => resolveFrom(flags.config, p);

  const nats = compileNatsSettings(flags.nats, env, file, rel);

  const labels = {
    ...(file.labels ?? {}),
    ...(env.WFMESH_LABELS ? parseLabels([env.WFMESH_LABELS], 'WFMESH_LABELS') : {}),
    ...(flags.labels?.length ? parseLabels(flags.labels, '--label') : {}),
  };

  const mcpFile = file.mcp === false ? undefined : file.mcp;
  const mcpEnabled = !flags.noMcp && file.mcp !== false;
  const port = flags.mcpPort ?? mcpFile?.port ?? (mcpEnabled ? DEFAULT_MCP_PORT : 0);
  const mcpToken = env.WFMESH_MCP_TOKEN ?? mcpFile?.token;

  const apiKeyEnv = file.llm?.api_key_env ?? 'OPENAI_API_KEY';
  const models = splitList(env.WFMESH_MODEL) ?? file.llm?.models ?? [];
  const llm: LlmSettings = {
    base_url: env.OPENAI_BASE_URL ?? file.llm?.base_url,
    api_key: env[apiKeyEnv],
    models,
    timeout_ms: file.llm?.timeout_ms ?? 60_000,
  };

  const fsFromFile = file.allow?.filesystem_root !== undefined ? rel(file.allow.filesystem_root) : undefined;
  const fsRoot = env.WFMESH_FILESYSTEM_ROOT || fsFromFile || flags.filesystemRoot;
  const fsSource = env.WFMESH_FILESYSTEM_ROOT ? 'WFMESH_FILESYSTEM_ROOT' : fsFromFile ? `${flags.config}: allow.filesystem_root` : 'the filesystem root';

  const heartbeatMs = positiveInt(env.WFMESH_HEARTBEAT_MS, 'WFMESH_HEARTBEAT_MS') ?? file.heartbeat_ms ?? 1_000;
  const idleProbeMs = positiveInt(env.WFMESH_IDLE_PROBE_MS, 'WFMESH_IDLE_PROBE_MS') ?? file.idle_probe_ms ?? heartbeatMs * 2;
  const name = flags.name ?? env.WFMESH_NAME ?? file.name ?? `${hostname().split('.')[0]}-${randomBytes(2).toString('hex')}`;
  // The name is a NATS subject token (wfmesh.member.<name>.<id>), which NATS permissions key on.
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new MeshError('USAGE', `--name "${name}": letters, digits, "_" and "-" only (it is part of NATS subjects)`);

  // A node's replies arrive on an inbox of its own name, which per-node NATS permissions allow
  // it alone to read (`wfmesh auth nats-config`); without permissions it changes nothing.
  nats.inboxPrefix = inboxPrefix(name);

  return {
    name,
    region: flags.region ?? env.WFMESH_REGION ?? file.region ?? 'local',
    labels,
    maxConcurrency: flags.maxConcurrency ?? positiveInt(env.WFMESH_MAX_CONCURRENCY, 'WFMESH_MAX_CONCURRENCY') ?? file.max_concurrency ?? 16,
    heartbeatMs,
    // 2.5 missed heartbeats: a dead or frozen node is dropped well within 3.5 s at the default 1 s.
    deadAfterMs: Math.round(heartbeatMs * 2.5),
    idleProbeMs,
    watchedProbeMs: positiveInt(env.WFMESH_WATCHED_PROBE_MS, 'WFMESH_WATCHED_PROBE_MS') ?? file.watched_probe_ms ?? idleProbeMs * 10,
    connectionWatch: onOff(env.WFMESH_CONNECTION_WATCH, 'WFMESH_CONNECTION_WATCH') ?? file.connection_watch ?? true,
    drainTimeoutMs: Math.round(1000 * (flags.drainTimeoutS ?? positiveInt(env.WFMESH_DRAIN_TIMEOUT, 'WFMESH_DRAIN_TIMEOUT') ?? file.drain_timeout ?? 30)),
    nats,
    http: {
      host: flags.mcpHost ?? mcpFile?.host ?? '127.0.0.1',
      ...((flags.advertiseHost ?? env.WFMESH_ADVERTISE_HOST) ? { advertiseHost: flags.advertiseHost ?? env.WFMESH_ADVERTISE_HOST } : {}),
      port,
      portFallback: port !== 0 && (flags.mcpPort === undefined ? mcpFile?.port === undefined : flags.mcpPortFallback === true),
      mcp: mcpEnabled,
      ...(mcpToken ? { token: mcpToken } : {}),
      origins: splitList(env.WFMESH_MCP_ORIGINS) ?? mcpFile?.origins ?? [],
      progressMs: positiveInt(env.WFMESH_MCP_PROGRESS_MS, 'WFMESH_MCP_PROGRESS_MS') ?? mcpFile?.progress_ms ?? 15_000,
    },
    hardware: file.hardware ?? {},
    llm,
    tools: splitList(flags.tools) ?? file.tools,
    allow: {
      // No root, no filesystem tool: never the working directory, which may be the checkout itself.
      ...(fsRoot !== undefined ? { filesystem_root: checkFilesystemRoot(fsRoot, fsSource) } : {}),
      http_hosts: splitList(env.WFMESH_HTTP_HOSTS) ?? file.allow?.http_hosts ?? [],
      shell_commands: file.allow?.shell_commands ?? [],
      env_vars: file.allow?.env_vars ?? [],
    },
    limits: {
      maxInputBytes: file.limits?.max_input_bytes ?? 1 << 20,
      maxOutputBytes: file.limits?.max_output_bytes ?? 4 << 20,
    },
    store: {
      executionTtlMs: parseTtl(env.WFMESH_EXECUTION_TTL, 'WFMESH_EXECUTION_TTL') ?? parseTtl(file.store?.execution_ttl, 'store.execution_ttl') ?? 7 * 86_400_000,
      replicas: positiveInt(env.WFMESH_KV_REPLICAS, 'WFMESH_KV_REPLICAS') ?? file.store?.replicas,
    },
  };
}
