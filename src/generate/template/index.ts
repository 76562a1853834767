/**
 * The template generator: deterministic and offline. Reads the description (intent), decides
 * what the mesh allows (env), then composes a source, one control-flow pattern, a quality gate
 * for complex jobs, and the sink. Every choice it could not honour is written in the header.
 */
import { MeshError } from '../../protocol/errors.js';
import type { MeshCapabilities } from '../capabilities.js';
import type { Complexity } from '../types.js';
import { WorkflowBuilder } from './builder.js';
import type { TemplateCtx } from './context.js';
import { resolveEnv } from './env.js';
import { readIntent, type PatternName } from './intent.js';
import { chain, conditional, fanOut, gate, loopLines, sink } from './shapes.js';
import { sourceStage } from './source.js';

export { readIntent, type Intent, type PatternName, type Source } from './intent.js';

export interface TemplateRequest {
  description: string;
  complexity: Complexity;
  name?: string;
  agents?: string[];
  tools?: string[];
}

export interface TemplateResult {
  name: string;
  document: Record<string, unknown>;
  /** The patterns used, in order ("folder scan", "fan-out/fan-in", ...). */
  patterns: string[];
  /** Lines for the YAML header: what was made and what could not be honoured. */
  notes: string[];
}

const LABEL: Record<PatternName, string> = {
  chain: 'chain',
  fan_out: 'fan-out/fan-in',
  conditional: 'conditional routing',
  loop: 'loop over items',
  tool_pipeline: 'tool pipeline',
};

export function generateFromTemplate(req: TemplateRequest, caps: MeshCapabilities): TemplateResult {
  const intent = readIntent(req.description);
  const env = resolveEnv(intent, req.description, caps, req.complexity, { agents: req.agents });
  if (!env.model && !env.tools.has('transform')) {
    throw new MeshError(
      'GENERATION_FAILED',
      'template generation failed: the mesh offers no model and no transform tool, so no template can process data on it',
    );
  }
  const ctx: TemplateCtx = { b: new WorkflowBuilder(), env, intent, description: req.description };
  const used: string[] = [];

  let data = sourceStage(ctx);
  if (data.perItem) used.push('folder scan (loop over files)');
  else if (intent.source.kind !== 'input') used.push(LABEL.tool_pipeline);

  // The strongest control-flow pattern the words ask for; a folder scan already is the loop.
  const shape = intent.patterns.find((p) => p !== 'tool_pipeline' && !(p === 'loop' && data.perItem)) ?? 'chain';
  if (shape === 'loop') {
    data = loopLines(ctx, data);
    used.push(LABEL.loop);
  }
  let finals: string[];
  if (shape === 'fan_out') finals = fanOut(ctx, data);
  else if (shape === 'conditional') finals = conditional(ctx, data);
  else finals = chain(ctx, data);
  if (shape !== 'loop') used.push(LABEL[shape]);
  if (req.complexity === 'complex' && shape !== 'conditional') {
    finals = gate(ctx, finals);
    used.push('quality gate (conditional routing)');
  }
  sink(ctx, finals);

  const name = req.name ?? intent.slug;
  return { name, document: ctx.b.document(name, req.description.trim()), patterns: used, notes: env.notes };
}
