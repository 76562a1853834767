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
  const r = validateWorkflowText(yaml, { knownToolTypes });
  const validation = { valid: r.valid, errors: r.errors, warnings: r.warnings };
  if (!r.valid || !r.document) return { validation, placement: [] };
  return { validation, placement: checkPlaceable(r.document, caps), document: r.document };
}

export function formatIssues(issues: readonly GenerationIssue[]): string[] {
  return issues.map(formatIssue);
}
