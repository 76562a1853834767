/**
 * One agent as LangSwarm writes it → the wfmesh agent: the prompt under `system_prompt`,
 * `instructions` or `instruction`, a `behavior` preset, a provider that speaks the OpenAI API,
 * `response_format`, `tools`, and a `base_url` checked here so that a bad one has its line.
 */
import { joinPath, type IssueList } from './issues.js';
import { AgentSchema, isValidId, type Agent } from './model.js';
import { describeValue, requires } from './normalize-step.js';
import { isPlainObject } from './variables.js';
import { BEHAVIOR_PROMPTS } from './langswarm.js';
import { zodIssues } from './zod-issues.js';
import { agentToolRefs } from './agent-tools.js';

const AGENT_KEYS = ['id', 'model', 'system_prompt', 'temperature', 'max_tokens', 'base_url', 'response_format', 'requires', 'tools', 'max_tool_rounds'];
/** LangSwarm providers that speak the OpenAI API (others run on the node's OpenAI-compatible endpoint, with a warning). */
const OPENAI_PROVIDERS = ['openai', 'azure_openai', 'azure-openai', 'openai_compatible', 'openai-compatible', 'local', 'ollama', 'vllm', 'litellm'];

export function normalizeAgent(raw: unknown, path: string, key: string | undefined, issues: IssueList): Agent | undefined {
  if (!isPlainObject(raw)) {
    issues.error(path, 'an agent is a mapping: {id, model, system_prompt}');
    return undefined;
  }
  const picked: Record<string, unknown> = { id: raw.id ?? key };
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'instructions' || k === 'instruction') {
      if (raw.system_prompt === undefined && picked.system_prompt === undefined) picked.system_prompt = v;
      else issues.warn(joinPath(path, k), `"${k}" is ignored: the agent already has a system prompt`);
    } else if (k === 'behavior') {
      // A preset name, or (as LangSwarm allows) a custom behaviour written out as text.
      const custom = typeof v === 'string' && /\s/.test(v.trim());
      if (typeof v !== 'string' || (!custom && !Object.hasOwn(BEHAVIOR_PROMPTS, v))) issues.error(joinPath(path, k), `unknown behavior ${describeValue(v)} (${Object.keys(BEHAVIOR_PROMPTS).join(', ')}, or a description in words)`);
    } else if (k === 'provider') {
      if (typeof v !== 'string') issues.error(joinPath(path, k), 'provider is a name such as openai');
      else if (!OPENAI_PROVIDERS.includes(v.toLowerCase()) && raw.base_url === undefined) {
        issues.warn(joinPath(path, k), `provider "${v}" is not called directly: the agent runs on the node's OpenAI-compatible endpoint (set base_url for another OpenAI-compatible server)`);
      }
    } else if (k === 'base_url') {
      const url = baseUrl(v, joinPath(path, k), issues);
      if (url !== undefined) picked.base_url = url;
    } else if (k === 'response_format') {
      picked.response_format = responseFormat(v, joinPath(path, k), issues);
    } else if (k === 'tools') {
      picked.tools = agentToolRefs(v, joinPath(path, k), issues);
    } else if (AGENT_KEYS.includes(k)) picked[k] = v;
    else if (!['type', 'agent_type'].includes(k) || !['openai', 'langchain-openai', 'llm', 'generic'].includes(String(v))) {
      issues.warn(joinPath(path, k), `agent key "${k}" is ignored (agents call an OpenAI-compatible endpoint)`);
    }
  }
  if (!isValidId(picked.id)) {
    issues.error(joinPath(path, 'id'), `an agent needs an id (letters, digits, _ and -), got ${describeValue(picked.id)}`);
    return undefined;
  }
  if (picked.system_prompt === undefined && typeof raw.behavior === 'string') {
    picked.system_prompt = Object.hasOwn(BEHAVIOR_PROMPTS, raw.behavior) ? BEHAVIOR_PROMPTS[raw.behavior] : raw.behavior.trim();
  }
  // No model: the node's first `llm.models` (WFMESH_MODEL) is used when the step runs.
  if (picked.model === undefined) picked.model = '';
  if (picked.requires !== undefined) picked.requires = requires(picked.requires, joinPath(path, 'requires'), issues);
  const r = AgentSchema.safeParse(picked);
  if (!r.success) {
    for (const i of zodIssues(r.error, path)) issues.error(i.path, i.message);
    return undefined;
  }
  return r.data;
}

/**
 * An agent's `base_url`, checked here so that a bad one is reported with its line, not when a
 * step runs. LangSwarm configs name the endpoint through the environment (`env:OPENAI_BASE_URL`,
 * `${OPENAI_BASE_URL}`): that is the node's own endpoint, used when base_url is left out.
 */
function baseUrl(v: unknown, path: string, issues: IssueList): string | undefined {
  const env = typeof v === 'string' ? /^\s*(?:env:\s*([A-Za-z_][A-Za-z0-9_]*)|\$\{\s*(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\})\s*$/.exec(v) : null;
  const name = env?.[1] ?? env?.[2];
  if (name === 'OPENAI_BASE_URL') {
    issues.warn(path, `base_url ${String(v)} is the node's endpoint: it is used as when base_url is left out`);
    return undefined;
  }
  if (name !== undefined) {
    issues.error(path, `base_url ${String(v)}: a workflow does not read the node's environment; write the URL, or leave base_url out to use the node's endpoint`);
    return undefined;
  }
  let ok = false;
  try {
    ok = typeof v === 'string' && ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  if (!ok) issues.error(path, `base_url is an http(s) URL of an OpenAI-compatible endpoint, got ${describeValue(v)}`);
  return ok ? (v as string) : undefined;
}

function responseFormat(v: unknown, path: string, issues: IssueList): 'json' | 'text' | undefined {
  const kind = isPlainObject(v) ? v.type : v;
  if (kind === 'json' || kind === 'json_object' || kind === 'json_schema') return 'json';
  if (kind === 'text') return 'text';
  issues.error(path, 'response_format is json_object (or {type: json_object}) or text');
  return undefined;
}
