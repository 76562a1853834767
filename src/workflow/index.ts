/**
 * The workflow model (pure): LangSwarm-compatible YAML → one typed model, validation with YAML
 * paths and lines, `${...}` variables and the condition language.
 */
export type { ValidationIssue } from './issues.js';
export { validateWorkflowText, loadWorkflowDocument, formatIssue } from './validate.js';
export type { ValidateOptions, ValidationResult, ValidationStats } from './validate.js';
export { BEHAVIOR_PROMPTS } from './langswarm.js';
export { validateWorkflowFiles, mergeWorkflowFiles, LANGSWARM_FILES, MAX_FOLDER_FILES, type FolderValidationResult } from './folder.js';
export { MAX_DOCUMENT_BYTES, MAX_SCAN_DEPTH } from './yaml-source.js';
export {
  AgentSchema,
  AgentStepSchema,
  BUILTIN_TOOL_METHODS,
  BUILTIN_TOOL_TYPES,
  InvokeStepSchema,
  LoopSpecSchema,
  LoopStepSchema,
  RetrySchema,
  RouteSchema,
  StepSchema,
  ToolSchema,
  ToolStepSchema,
  USER_TARGET,
  WorkflowDocumentSchema,
  WorkflowSchema,
  isValidId,
  routeTargets,
} from './model.js';
export { AgentToolConflict, resolveAgentTools } from './agent-tools.js';
export { combineRequires } from './requires.js';
export type {
  Agent,
  AgentToolRef,
  AgentStep,
  InvokeStep,
  LoopSpec,
  LoopStep,
  Retry,
  Route,
  Step,
  StepKind,
  Tool,
  ToolStep,
  Workflow,
  WorkflowDocument,
} from './model.js';
export { allSteps } from './normalize.js';
export { stepGraph, descendants as descendantsOf, cycleBounds, type StepGraph, type Edge } from './graph.js';
export { parseDuration } from './duration.js';
export {
  VariableError,
  formatPath,
  fromJsonText,
  lookupVariable,
  parseTemplate,
  parseVariablePath,
  resolveTemplate,
  resolveVariable,
  templateVariables,
} from './variables.js';
export type { PathSegment, StepView, TemplatePart, VariableRef, VariableScope } from './variables.js';
export { ExpressionSyntaxError, expressionVariables, parseExpression } from './expression.js';
export type { CompareOp, Expr } from './expression.js';
export { ConditionError, evaluateCondition, evaluateExpression } from './conditions.js';
