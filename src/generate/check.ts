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

export function checkCandidate(yaml: string, caps: MeshCapabilities): CandidateCheck {
  // Custom tool types a node advertises are as legitimate as the built-in ones.
  const knownToolTypes = [...new Set([...BUILTIN_TOOL_TYPES, ...offeredTools(caps)])];
  // Strict: a generated workflow may not hold a step that fails when reached. Without run
  // keywords: it reads ${user_input} or declares its inputs (an undeclared ${NAME} is an error).
  const r = validateWorkflowText(yaml, { knownToolTypes, strict: true, runKeywords: false });
  // A LangSwarm file may name an agent it never defines (it runs as a default agent, with a
  // warning); a generated workflow must define every agent it uses, so that is an error here.
  const undefinedAgents = r.warnings.filter((w) => /^agent ".*" is not defined/.test(w.message));
  const errors = [...r.errors, ...undefinedAgents.map((w) => ({ ...w, message: `unknown agent ${w.message.slice('agent '.length).replace(/ is not defined.*/, '')}: define it under agents` }))];
  const validation = { valid: errors.length === 0, errors, warnings: r.warnings.filter((w) => !undefinedAgents.includes(w)) };
  if (!validation.valid || !r.document) return { validation, placement: [] };
  return { validation, placement: checkPlaceable(r.document, caps), document: r.document };
}

export function formatIssues(issues: readonly GenerationIssue[]): string[] {
  return issues.map(formatIssue);
}
