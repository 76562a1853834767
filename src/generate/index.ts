/**
 * Description → workflow: an LLM with structured output and a repair loop, or the offline
 * template library. Whatever comes back validated and can be placed on the given mesh.
 */
export { generateWorkflow } from './generate.js';
export { checkPlaceable, canPlace } from './placeable.js';
export {
  defaultCapabilities,
  describeCapabilities,
  type GpuCapability,
  type MeshCapabilities,
  type NodeCapabilities,
} from './capabilities.js';
export {
  ComplexitySchema,
  GenerateRequestSchema,
  GeneratedWorkflowSchema,
  GenerationIssueSchema,
  GenerationValidationSchema,
  GeneratorKindSchema,
  type Complexity,
  type GenerateContext,
  type GeneratedWorkflow,
  type GenerateRequest,
  type GenerationIssue,
  type GenerationValidation,
  type GeneratorKind,
  type LlmConfig,
} from './types.js';
export type { GenerationFailureCause } from './llm-errors.js';
