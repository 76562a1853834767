/** The two gates every generated workflow passes: the workflow validator, then placement. */
import { BUILTIN_TOOL_TYPES, formatIssue, validateWorkflowText, type WorkflowDocument } from '../workflow/index.js';
import { offeredTools, type MeshCapabilities } from './capabilities.js';
import { checkPlaceable } from './placeable.js';
import type { GenerationIssue, GenerationValidation } from './types.js';

export interface CandidateCheck {
  validation: GenerationValidation;
  /** Placement problems on this mesh (only looked for once the workflow validates). */
  placement: string[];
  document?: WorkflowDocument;
}

/** The validator's warning for an undeclared `${NAME}` read as a field of the run input. */
const RUN_KEYWORD = /is read as the run input's field/;

export function checkCandidate(yaml: string, caps: MeshCapabilities): CandidateCheck {
  // Custom tool types a node advertises are as legitimate as the built-in ones.
  const knownToolTypes = [...new Set([...BUILTIN_TOOL_TYPES, ...offeredTools(caps)])];
  // Strict: a generated workflow may not hold a step that fails when reached.
  const r = validateWorkflowText(yaml, { knownToolTypes, strict: true });
  // A LangSwarm file may name an agent it never defines (it runs as a default agent, with a
  // warning); a generated workflow must define every agent it uses, so that is an error here.
  const undefinedAgents = r.warnings.filter((w) => /^agent ".*" is not defined/.test(w.message));
  // Likewise an undeclared ${NAME} reads the run input's field NAME in a LangSwarm file (its
  // run_workflow keywords); a generated workflow reads ${user_input} or declares its inputs.
  const runKeywords = r.warnings.filter((w) => RUN_KEYWORD.test(w.message));
  const errors = [
    ...r.errors,
    ...undefinedAgents.map((w) => ({ ...w, message: `unknown agent ${w.message.slice('agent '.length).replace(/ is not defined.*/, '')}: define it under agents` })),
    ...runKeywords.map((w) => ({ ...w, message: `${w.message.replace(/:.*$/s, '')}: no such variable: read \${user_input}, a step's \${ID.output}, or list the name under the workflow's inputs` })),
  ];
  const validation = { valid: errors.length === 0, errors, warnings: r.warnings.filter((w) => !undefinedAgents.includes(w) && !runKeywords.includes(w)) };
  if (!validation.valid || !r.document) return { validation, placement: [] };
  return { validation, placement: checkPlaceable(r.document, caps), document: r.document };
}

export function formatIssues(issues: readonly GenerationIssue[]): string[] {
  return issues.map(formatIssue);
}
