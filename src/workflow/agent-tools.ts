/**
 * An agent's `tools:` (function calling): read from the YAML, checked against the document, and
 * resolved into the specs the agent step carries to the node that runs it. Pure.
 */
import type { AgentToolSpec, Requires } from '../protocol/step.js';
import { joinPath, type IssueList } from './issues.js';
import { BUILTIN_TOOL_METHODS, type Agent, type AgentToolRef, type WorkflowDocument } from './model.js';
import { suggest } from './check.js';
import { combineRequires } from './requires.js';
import { isPlainObject } from './variables.js';

/**
 * Agent `tools:`: `ID`, `ID.method` (that method only), or a mapping `{id | name | type,
 * methods: [...]}`. One ref per entry, as written, so that a mistake is reported at its own entry
 * (line); the same tool named twice is merged when the step is resolved (resolveAgentTools).
 */
export function agentToolRefs(v: unknown, path: string, issues: IssueList): AgentToolRef[] | undefined {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) {
    issues.error(path, 'tools is a list of tool ids (ID, ID.method, or {id, methods})');
    return undefined;
  }
  const out: AgentToolRef[] = [];
  list.forEach((t, i) => {
    const p = joinPath(path, i);
    if (typeof t === 'string' && t) {
      const dot = t.indexOf('.');
      if (dot > 0 && dot === t.length - 1) {
        issues.error(p, `"${t}" names no method after the dot: ${t.slice(0, dot)} (every method) or ${t}METHOD`);
        return;
      }
      out.push(dot > 0 ? { id: t.slice(0, dot), methods: [t.slice(dot + 1)] } : { id: t });
      return;
    }
    const id = isPlainObject(t) ? (t.id ?? t.name ?? t.type) : undefined;
    if (typeof id !== 'string' || !id) {
      issues.error(p, 'a tool is named by its id (ID, ID.method, or {id, methods})');
      return;
    }
    const methods = isPlainObject(t) ? t.methods : undefined;
    if (methods !== undefined && (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === 'string' && m))) {
      issues.error(joinPath(p, 'methods'), 'methods is a non-empty list of method names');
      return;
    }
    out.push(methods ? { id, methods: methods as string[] } : { id });
  });
  return out;
}

/** The same tool listed twice is one tool with both entries' methods (an entry without a filter offers every method). */
export function mergeAgentToolRefs(refs: readonly AgentToolRef[]): AgentToolRef[] {
  const out: AgentToolRef[] = [];
  for (const ref of refs) {
    const prior = out.find((r) => r.id === ref.id);
    if (!prior) out.push(ref.methods ? { id: ref.id, methods: [...ref.methods] } : { id: ref.id });
    else if (!ref.methods || !prior.methods) delete prior.methods;
    else prior.methods = [...new Set([...prior.methods, ...ref.methods])];
  }
  return out;
}

/**
 * Every agent's tools name a document tool or a built-in type, with methods that type has. A tool
 * an agent cannot call (unknown, a type wfmesh lacks, an MCP tool without a server) is a warning,
 * as LangSwarm loads such files: the agent's step fails when a run reaches it. A method filter
 * naming a method the type lacks is wfmesh syntax, so it is an error.
 */
export function checkAgentTools(doc: WorkflowDocument, agentPaths: ReadonlyMap<string, string>, knownToolTypes: readonly string[], issues: IssueList): void {
  for (const agent of Object.values(doc.agents)) {
    const path = joinPath(agentPaths.get(agent.id) ?? 'agents', 'tools');
    (agent.tools ?? []).forEach((ref, i) => {
      const p = joinPath(path, i);
      const declared = Object.hasOwn(doc.tools, ref.id) ? doc.tools[ref.id] : undefined;
      const type = declared?.type ?? (knownToolTypes.includes(ref.id) ? ref.id : undefined);
      if (type === undefined) {
        const names = [...Object.keys(doc.tools), ...knownToolTypes];
        issues.fault(p, `agent "${agent.id}" lists unknown tool "${ref.id}"${suggest(ref.id, names)}: name a tool of this document or a built-in type (${knownToolTypes.join(', ')}); its step fails when it runs`);
        return;
      }
      const region = agent.requires?.region;
      const clash = region === undefined ? undefined : combineRequires(declared?.requires, { region }).conflict;
      if (clash !== undefined) issues.error(p, `agent "${agent.id}" is bound to region ${[region].flat().join(' | ')}, and tool "${ref.id}" may not run there (${clash}): no call of it could be placed`);
      if (type === 'mcpremote') {
        if (typeof declared?.settings?.mcp_url !== 'string') issues.fault(p, `agent "${agent.id}": mcpremote tool "${ref.id}" needs settings.mcp_url (its server's tools are what the model may call); its step fails when it runs`);
        return;
      }
      const methods = BUILTIN_TOOL_METHODS[type];
      if (!methods) {
        issues.fault(p, `agent "${agent.id}": tool "${ref.id}" has type "${type}", which an agent cannot call (built-in types: ${Object.keys(BUILTIN_TOOL_METHODS).join(', ')}, mcpremote); its step fails when it runs`);
        return;
      }
      for (const m of ref.methods ?? []) {
        if (!methods.includes(m)) issues.error(joinPath(p, 'methods'), `tool "${ref.id}" (${type}) has no method "${m}"${suggest(m, [...methods])}: use ${methods.join(', ')}`);
      }
    });
  }
}

/**
 * The agent's tools as its step carries them: each tool's type, settings (already resolved) and
 * methods, and where its calls may run: the tool's own `requires` and the agent's region (what
 * the agent has read must not leave the region it is bound to). `conflict` names a tool that
 * could never be placed.
 */
export function resolveAgentTools(
  doc: WorkflowDocument,
  agent: Agent,
  region: Requires['region'],
  settingsOf: (settings: Record<string, unknown>) => Record<string, unknown>,
): AgentToolSpec[] {
  const specs: AgentToolSpec[] = [];
  for (const ref of mergeAgentToolRefs(agent.tools ?? [])) {
    const declared = Object.hasOwn(doc.tools, ref.id) ? doc.tools[ref.id] : undefined;
    const type = declared?.type ?? ref.id;
    if (!declared && !Object.hasOwn(BUILTIN_TOOL_METHODS, type)) throw new AgentToolConflict(`agent "${agent.id}" lists tool "${ref.id}", which is neither a tool of this document nor a built-in type`);
    if (type !== 'mcpremote' && !Object.hasOwn(BUILTIN_TOOL_METHODS, type)) throw new AgentToolConflict(`agent "${agent.id}": tool "${ref.id}" has type "${type}", which an agent cannot call`);
    if (type === 'mcpremote' && typeof declared?.settings?.mcp_url !== 'string') throw new AgentToolConflict(`agent "${agent.id}": mcpremote tool "${ref.id}" has no settings.mcp_url to list its tools from`);
    const combined = combineRequires(declared?.requires, region === undefined ? undefined : { region });
    if (combined.conflict !== undefined) {
      throw new AgentToolConflict(`agent "${agent.id}" cannot call tool "${ref.id}": its requires and the agent's place conflict (${combined.conflict})`);
    }
    specs.push({
      id: ref.id,
      type,
      ...(ref.methods && { methods: ref.methods }),
      ...(declared?.settings && { settings: settingsOf(declared.settings) }),
      ...(combined.requires && { requires: combined.requires }),
      ...(declared?.description && { description: declared.description }),
    });
  }
  return specs;
}

/** A tool an agent cannot call, or whose constraints contradict its agent's (thrown by resolveAgentTools). */
export class AgentToolConflict extends Error {
  override readonly name = 'AgentToolConflict';
}
