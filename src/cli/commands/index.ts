import type { CliCommand } from '../command.js';

/**
 * One `wfmesh` sub-command as `wfmesh --help` lists it. The module behind it (and everything it
 * imports: the MCP SDK, openai, the engine) is loaded only when that command runs, so `--help`,
 * `validate` and `nodes` do not pay for the others.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  /** Internal commands (e.g. `__step-worker`) are left out of `wfmesh --help`. */
  readonly hidden?: boolean;
  load(): Promise<CliCommand>;
}

// Literal import() paths: esbuild inlines them into the single binary's bundle (no run-time loading).
/** Every `wfmesh` sub-command, in the order `wfmesh --help` lists them. */
export const commands: readonly CommandEntry[] = [
  { name: 'up', summary: 'start a local mesh: nats-server (JetStream, monitoring on 8222) and N nodes', load: async () => (await import('./up.js')).upCommand },
  { name: 'node', summary: 'join an existing NATS cluster as one node', load: async () => (await import('./node.js')).nodeCommand },
  { name: 'nodes', summary: 'the mesh as its nodes see it: one row per node', load: async () => (await import('./nodes.js')).nodesCommand },
  { name: 'run', summary: 'run a workflow file (--mode sync runs it in this process, no mesh needed)', load: async () => (await import('./run.js')).runCommand },
  { name: 'generate', summary: 'write a workflow from a plain-words description (LLM when configured, else templates)', load: async () => (await import('./generate.js')).generateCommand },
  { name: 'validate', summary: 'check workflow files or LangSwarm config folders: every error with its file, YAML path and line', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'mcp', summary: 'serve MCP over stdio (for desktop MCP clients) as a node of the mesh', load: async () => (await import('./mcp.js')).mcpCommand },
  { name: 'executions', summary: 'list executions, or show one, from the shared store (any node started them)', load: async () => (await import('./executions.js')).executionsCommand },
  { name: 'cancel', summary: 'cancel an execution wherever it runs (its in-flight steps stop)', load: async () => (await import('./cancel.js')).cancelCommand },
  { name: 'auth', summary: 'write the nats-server authorization for a mesh: one nkey per node and client, with permissions', load: async () => (await import('./auth.js')).authCommand },
  { name: '__step-worker', summary: '(internal) run one isolated step sent by the parent node over IPC', hidden: true, load: async () => (await import('./step-worker.js')).stepWorkerCommand },
];
