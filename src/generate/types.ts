import { z } from 'zod';
import type { MeshCapabilities } from './capabilities.js';

export const ComplexitySchema = z.enum(['simple', 'medium', 'complex']);
export type Complexity = z.infer<typeof ComplexitySchema>;

export const GeneratorKindSchema = z.enum(['auto', 'llm', 'template']);
export type GeneratorKind = z.infer<typeof GeneratorKindSchema>;

/** What a caller asks for (CLI flags, MCP `generate_workflow` arguments). */
export const GenerateRequestSchema = z.object({
  description: z.string().trim().min(1, 'describe the job in a few words'),
  complexity: ComplexitySchema.optional(),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, "-" and "_", at most 64')
    .optional(),
  /** Agent ids or models the caller wants used (hints). */
  agents: z.array(z.string().min(1)).optional(),
  /** Tool types the caller wants used (hints; only offered ones are honoured). */
  tools: z.array(z.string().min(1)).optional(),
  generator: GeneratorKindSchema.optional(),
});
export type GenerateRequest = z.input<typeof GenerateRequestSchema>;

/** How the LLM generator reaches an OpenAI-compatible chat-completions endpoint. */
export interface LlmConfig {
  /** e.g. http://localhost:11434/v1 (Ollama); unset means OpenAI's own API. */
  base_url?: string;
  api_key?: string;
  model: string;
  /** Per request; default 120 s (local models are slow to write a whole workflow). */
  timeout_ms?: number;
  /** Answers sent back with their validation errors; default 2 (so at most 3 requests). */
  max_repair_rounds?: number;
  /** Transport retries by the SDK (429, 5xx, connection reset); default 2. */
  max_retries?: number;
}

export interface GenerateContext {
  capabilities: MeshCapabilities;
  llm?: LlmConfig;
  signal?: AbortSignal;
}

/** One validation finding, as the workflow validator reports it. */
export const GenerationIssueSchema = z.object({ path: z.string(), line: z.number().int().optional(), message: z.string() });
export type GenerationIssue = z.infer<typeof GenerationIssueSchema>;

export const GenerationValidationSchema = z.object({
  valid: z.boolean(),
  errors: z.array(GenerationIssueSchema),
  warnings: z.array(GenerationIssueSchema),
});
export type GenerationValidation = z.infer<typeof GenerationValidationSchema>;

/** The result of `generateWorkflow` (MCP `generate_workflow` structuredContent). */
export const GeneratedWorkflowSchema = z.object({
  name: z.string(),
  yaml: z.string(),
  validation: GenerationValidationSchema,
  generator: z.enum(['llm', 'template']),
  /** LLM only: how many answers it took (1 = the first was good). */
  rounds: z.number().int().positive().optional(),
});
export type GeneratedWorkflow = z.infer<typeof GeneratedWorkflowSchema>;
