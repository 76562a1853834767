import { writeFileSync } from 'node:fs';
import {
  ComplexitySchema,
  defaultCapabilities,
  generateWorkflow,
  GeneratorKindSchema,
  type LlmConfig,
  type MeshCapabilities,
} from '../../generate/index.js';
import { MeshError } from '../../protocol/errors.js';
import { stringFlag, type CliCommand } from '../command.js';

/** The LLM settings from the environment, or undefined when no endpoint is named. */
export function llmFromEnv(env: NodeJS.ProcessEnv = process.env): LlmConfig | undefined {
  const base_url = env.OPENAI_BASE_URL?.trim() || undefined;
  const api_key = env.OPENAI_API_KEY?.trim() || undefined;
  if (!base_url && !api_key) return undefined;
  return {
    ...(base_url && { base_url }),
    ...(api_key && { api_key }),
    // OpenAI's own API gets a sensible default; a local server needs its model named.
    model: env.WFMESH_MODEL?.split(',')[0]?.trim() || 'gpt-4o-mini',
  };
}

/**
 * What a workflow run from this shell (`wfmesh run --mode sync`) can use: every built-in tool but
 * shell, and the models of WFMESH_MODEL when an endpoint is configured, no GPU.
 */
export function localCapabilities(env: NodeJS.ProcessEnv = process.env): MeshCapabilities {
  const caps = defaultCapabilities();
  const llm = llmFromEnv(env);
  const models = (env.WFMESH_MODEL ?? '').split(',').map((m) => m.trim()).filter(Boolean);
  if (llm && models.length > 0) caps.nodes[0]!.models = models;
  return caps;
}

export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'write a workflow from a plain-words description (LLM when configured, else templates)',
  usage: [
    '"DESCRIPTION" [--complexity simple|medium|complex] [--generator auto|llm|template] [--name N] [-o FILE]',
    '',
    'Prints the workflow YAML, or writes it to FILE and prints a one-line summary on stderr.',
    'LLM: OPENAI_BASE_URL (Ollama, vLLM, ...) and/or OPENAI_API_KEY, model WFMESH_MODEL (see docs/generation.md).',
    'Without them (or with --generator template) the offline template library writes it.',
  ].join('\n'),
  options: {
    complexity: { type: 'string' },
    generator: { type: 'string' },
    name: { type: 'string' },
    output: { type: 'string', short: 'o' },
  },
  async run(args, io) {
    const description = args.positionals.join(' ').trim();
    if (!description) throw new MeshError('USAGE', 'describe the job, e.g. wfmesh generate "summarize notes.md"');
    const complexity = ComplexitySchema.safeParse(stringFlag(args, 'complexity') ?? 'medium');
    if (!complexity.success) throw new MeshError('USAGE', `--complexity: one of ${ComplexitySchema.options.join(', ')}`);
    const generator = GeneratorKindSchema.safeParse(stringFlag(args, 'generator') ?? 'auto');
    if (!generator.success) throw new MeshError('USAGE', `--generator: one of ${GeneratorKindSchema.options.join(', ')}`);
    const name = stringFlag(args, 'name');
    const llm = llmFromEnv();

    const ctl = new AbortController();
    const onSigint = (): void => ctl.abort(new Error('interrupted (Ctrl-C)'));
    process.once('SIGINT', onSigint);
    let result;
    try {
      result = await generateWorkflow(
        { description, complexity: complexity.data, generator: generator.data, ...(name && { name }) },
        { capabilities: localCapabilities(), ...(llm && { llm }), signal: ctl.signal },
      );
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    const file = stringFlag(args, 'output');
    if (!file) {
      io.out(result.yaml);
      return 0;
    }
    try {
      writeFileSync(file, result.yaml);
    } catch (err) {
      throw new MeshError('USAGE', `-o ${file}: cannot write it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const rounds = result.rounds === undefined ? '' : `, ${result.rounds} round(s)`;
    const warnings = result.validation.warnings.length ? `, ${result.validation.warnings.length} warning(s)` : '';
    io.err(`wrote ${file}: workflow "${result.name}" (generator ${result.generator}${rounds}, valid${warnings})`);
    return 0;
  },
};
