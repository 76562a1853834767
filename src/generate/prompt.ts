/**
 * What the LLM is told: the workflow format in the draft shape it answers in, the tools with their
 * real argument shapes, and what this mesh offers, so that what comes back can be placed.
 */
import { describeCapabilities, offeredModels, offeredRegions, offeredTools, type MeshCapabilities } from './capabilities.js';
import type { Complexity } from './types.js';

/** Argument shapes of the built-in tools (src/executor/tools), one line per method. */
const TOOL_GUIDE: Record<string, string> = {
  filesystem:
    'filesystem: read_file {path} -> text; write_file {path, content} -> {path, bytes}; ' +
    'list_dir {path} -> [{name, type: "file"|"dir", size}] (one folder, not recursive). Paths are relative to the node\'s root, never absolute, never "..".',
  http: 'http: request {url, method?: "GET", headers?, body?} -> {status, headers, body}; only hosts the node allows.',
  transform:
    'transform: template {template: "text with {{name}}", values: {name: "${step.output}"}} -> text; ' +
    'pick {value, path: "a.b[0]"} -> value; json_parse {text} -> value; concat {items: [...], separator?} -> joined text, flattened list or merged object; ' +
    'split {text, separator?: "\\n"} -> list; length {value} -> number.',
  echo: 'echo: any args -> the same args (a constant or a pass-through).',
  sleep: 'sleep: {ms} -> {slept_ms}.',
  shell: 'shell: run {command, args: [...]} -> {exit_code, stdout, stderr}; only commands the node allow-lists.',
  mcpremote: 'mcpremote: call {tool, arguments: {...}} with settings {mcp_url} -> the remote tool\'s result.',
};

const SHAPE: Record<Complexity, string> = {
  simple: 'simple: 1 to 3 steps in a straight line; no loops, no conditions unless the job cannot do without.',
  medium:
    'medium: 3 to 6 steps; use fan-out/fan-in (output_to several steps, then one step with depends_on all of them) ' +
    'or conditional routing or a loop where the job calls for it.',
  complex:
    'complex: 5 to 12 steps combining patterns: fan-out/fan-in, conditional routing, a loop over items, ' +
    'retries on flaky tools; every branch ends at a step whose output_to is ["user"].',
};

/** `allowShell`: the caller asked for shell and a node offers it; otherwise it is never mentioned. */
export function buildSystemPrompt(caps: MeshCapabilities, complexity: Complexity, allowShell = false): string {
  const tools = offeredTools(caps).filter((t) => t !== 'shell' || allowShell);
  const models = offeredModels(caps);
  const regions = offeredRegions(caps);
  const gpuNodes = caps.nodes.filter((n) => n.gpus.length > 0).map((n) => n.name);
  return [
    'You design workflows for wfmesh, a mesh of nodes that run workflow steps. Answer with one JSON object in the given schema; nothing else.',
    '',
    'The workflow:',
    '- agents: LLM agents {id, model, system_prompt}; an agent step sends `input` to the agent and its output is the reply text.',
    '- tools: {id, type, settings_json}; a tool step calls `method` with `args_json` (a JSON object, as text).',
    '- steps run in list order unless some step has depends_on; then only edges count (depends_on, output_to, condition).',
    '- Variables in input and args: ${user_input} (the workflow input), ${STEP_ID.output} and ${STEP_ID.output.field} (an earlier step\'s output),',
    '  the loop variable inside a loop body (${file}, ${file.name}). A step may only read steps upstream of it. A value that is exactly one',
    '  variable keeps its JSON type (a list stays a list).',
    '- A loop step: loop {for_each: "${list_step.output}", var, max, body: [steps]}; its output is the list of the last body step\'s outputs.',
    '- condition {if: "${check.output} == \\"yes\\"", then: STEP_ID, else: STEP_ID}: routes after the step. Expressions use ==, !=, <, <=, >, >=,',
    '  and, or, not, in, contains, exists, string and number literals. Nothing else.',
    '- The final step (and the end of every branch) has output_to ["user"]: that output is the answer.',
    '- requires: placement; gpu only when the job needs one, region only for data residency.',
    '- ids: letters, digits, _ and -; never "user", "input", "context", "env" or "loop".',
    '',
    'Tools (use only these types, with these arguments):',
    ...tools.map((t) => `- ${TOOL_GUIDE[t] ?? `${t}: a tool type a node offers (custom)`}`),
    '',
    'This mesh, right now:',
    describeCapabilities(caps),
    '',
    'Rules:',
    models.length > 0
      ? `- Agent models: only ${models.map((m) => `"${m}"`).join(', ')}.`
      : '- No node offers any model: write NO agents and NO agent steps; use tool steps only.',
    `- Tool types: only ${tools.join(', ') || '(none)'}.`,
    gpuNodes.length > 0
      ? `- GPU: only nodes ${gpuNodes.join(', ')} have GPUs; a step that needs one must use a tool or model that node offers.`
      : '- No node has a GPU: never set requires.gpu.',
    `- Regions that exist: ${regions.join(', ')}; never pin a step to any other.`,
    allowShell ? '- The shell tool runs only commands a node allow-lists: use it only for the command the job asks for.' : '- There is no shell tool: never write one.',
    `- Size and control flow: ${SHAPE[complexity]}`,
  ].join('\n');
}

export function buildUserPrompt(req: {
  description: string;
  complexity: Complexity;
  name?: string;
  agents?: string[];
  tools?: string[];
}): string {
  return [
    `Write a ${req.complexity} workflow for this job:`,
    req.description,
    req.name ? `Name it "${req.name}".` : '',
    req.agents?.length ? `The caller would like these agents or models used: ${req.agents.join(', ')}.` : '',
    req.tools?.length ? `The caller would like these tools used: ${req.tools.join(', ')}.` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The message that sends a failed answer back: every problem, and the YAML it became. */
export function repairPrompt(problems: readonly string[], yaml?: string): string {
  return [
    'Your workflow was rejected. Fix every problem below and answer again with the whole corrected JSON object.',
    'Problems:',
    ...problems.map((p) => `- ${p}`),
    ...(yaml ? ['', 'Your answer as workflow YAML (the paths above point into it):', yaml] : []),
  ].join('\n');
}
