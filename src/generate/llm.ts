/**
 * The LLM generator: structured output through the real `openai` SDK against any OpenAI-compatible
 * endpoint, then our own validation and placement check; what fails goes back to the model for a
 * bounded number of repair rounds. It never returns a workflow that failed either check.
 */
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { LengthFinishReasonError } from 'openai/error';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { offersTool } from './capabilities.js';
import { checkCandidate, formatIssues } from './check.js';
import { draftToDocument, WorkflowDraftSchema, type WorkflowDraft } from './draft.js';
import { fromSdkError, generationFailed } from './llm-errors.js';
import { buildSystemPrompt, buildUserPrompt, repairPrompt } from './prompt.js';
import { oneLine, renderWorkflowYaml, workflowName } from './render.js';
import type { Complexity, GenerateContext, GeneratedWorkflow, LlmConfig } from './types.js';
import { allSteps, type WorkflowDocument } from '../workflow/index.js';

const OPENAI_URL = 'https://api.openai.com/v1';
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_REPAIR_ROUNDS = 2;

export interface LlmRequest {
  description: string;
  complexity: Complexity;
  name?: string;
  agents?: string[];
  tools?: string[];
}

/** One round's outcome: a draft, or the reason the answer could not be read. */
type Answer = { draft: WorkflowDraft; raw: string } | { unreadable: 'not JSON' | 'wrong shape'; detail: string };

function clientFor(llm: LlmConfig): { client: OpenAI; endpoint: string } {
  const endpoint = (llm.base_url ?? OPENAI_URL).replace(/\/+$/, '');
  const isOpenAi = endpoint === OPENAI_URL;
  if (isOpenAi && !llm.api_key) {
    throw generationFailed(
      'no endpoint',
      'no OpenAI-compatible endpoint configured: set OPENAI_BASE_URL (Ollama, vLLM, ...) or OPENAI_API_KEY (OpenAI)',
    );
  }
  const client = new OpenAI({
    baseURL: endpoint,
    // Local servers (Ollama, vLLM, llama.cpp) ignore the key, but the SDK insists on one.
    apiKey: llm.api_key ?? 'not-needed',
    timeout: llm.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    maxRetries: llm.max_retries ?? 2,
  });
  return { client, endpoint };
}

async function ask(
  client: OpenAI,
  llm: LlmConfig,
  messages: ChatCompletionMessageParam[],
  where: { endpoint: string; model: string; timeout_ms: number },
  signal: AbortSignal | undefined,
): Promise<Answer> {
  try {
    const completion = await client.chat.completions.parse(
      { model: llm.model, messages, response_format: zodResponseFormat(WorkflowDraftSchema, 'wfmesh_workflow') },
      signal ? { signal } : {},
    );
    const message = completion.choices[0]?.message;
    if (!message) return { unreadable: 'not JSON', detail: 'the answer had no choices' };
    if (message.refusal) throw generationFailed('refusal', `the model refused: ${message.refusal}`);
    if (!message.parsed) return { unreadable: 'not JSON', detail: 'the answer was empty' };
    return { draft: message.parsed, raw: message.content ?? '' };
  } catch (err) {
    // The SDK parses inside parse(): JSON.parse throws SyntaxError, the schema throws ZodError.
    if (err instanceof SyntaxError) return { unreadable: 'not JSON', detail: err.message };
    if (err instanceof LengthFinishReasonError) {
      return { unreadable: 'not JSON', detail: 'the answer was cut off at the token limit' };
    }
    if (err instanceof z.ZodError) {
      const issues = err.issues.slice(0, 20).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      return { unreadable: 'wrong shape', detail: issues.join('; ') };
    }
    throw fromSdkError(err, where);
  }
}

/** Generates through the LLM, repairing up to `max_repair_rounds` times; throws GENERATION_FAILED. */
export async function generateWithLlm(req: LlmRequest, ctx: GenerateContext): Promise<GeneratedWorkflow> {
  const llm = ctx.llm;
  if (!llm || !llm.model) {
    throw generationFailed('no endpoint', 'no LLM configured (set WFMESH_MODEL and OPENAI_BASE_URL or OPENAI_API_KEY)');
  }
  const { client, endpoint } = clientFor(llm);
  const where = { endpoint, model: llm.model, timeout_ms: llm.timeout_ms ?? DEFAULT_TIMEOUT_MS };
  const rounds = 1 + Math.max(0, llm.max_repair_rounds ?? DEFAULT_REPAIR_ROUNDS);
  // A command line is the riskiest thing a model can write: only when the caller asked for shell.
  const allowShell = (req.tools ?? []).includes('shell') && offersTool(ctx.capabilities, 'shell');
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: buildSystemPrompt(ctx.capabilities, req.complexity, allowShell) },
    { role: 'user', content: buildUserPrompt(req) },
  ];

  let last: { cause: 'not JSON' | 'never validated'; problems: string[] } = { cause: 'never validated', problems: [] };
  for (let round = 1; round <= rounds; round++) {
    const answer = await ask(client, llm, messages, where, ctx.signal);
    if ('unreadable' in answer) {
      last = {
        cause: answer.unreadable === 'not JSON' ? 'not JSON' : 'never validated',
        problems: [`the answer ${answer.unreadable === 'not JSON' ? 'was not JSON' : 'did not match the schema'}: ${answer.detail}`],
      };
      messages.push({ role: 'user', content: repairPrompt(last.problems) });
      continue;
    }
    const name = req.name ?? workflowName(answer.draft.name);
    const { document, problems: draftProblems } = draftToDocument({ ...answer.draft, name });
    const yaml = renderWorkflowYaml(document, [
      `Generated by wfmesh from: ${oneLine(req.description)}`,
      `generator: llm (model ${llm.model}, round ${round})`,
    ]);
    const checked = checkCandidate(yaml, ctx.capabilities);
    const problems = [
      ...draftProblems.map((p) => `${p.path}: ${p.message}`),
      ...formatIssues(checked.validation.errors),
      ...checked.placement,
      ...(checked.document && !allowShell ? shellSteps(checked.document).map((id) => `step "${id}" uses the shell tool, which this request does not allow`) : []),
    ];
    if (problems.length === 0) {
      return { name, yaml, validation: checked.validation, generator: 'llm', rounds: round };
    }
    last = { cause: 'never validated', problems };
    messages.push({ role: 'assistant', content: answer.raw });
    messages.push({ role: 'user', content: repairPrompt(problems, yaml) });
  }
  const summary = last.problems.slice(0, 10).map((p) => `  - ${p}`).join('\n');
  const more = last.problems.length > 10 ? `\n  ... and ${last.problems.length - 10} more` : '';
  const headline =
    last.cause === 'not JSON'
      ? `the model's answer was still not JSON after ${rounds} round(s)`
      : `the model's workflow never validated after ${rounds} round(s); last errors:`;
  throw generationFailed(last.cause, `${headline}\n${summary}${more}`, { rounds, problems: last.problems });
}

/** Ids of the steps that call a `shell` tool (directly or through a declared tool). */
function shellSteps(doc: WorkflowDocument): string[] {
  return Object.values(doc.workflows).flatMap((wf) =>
    allSteps(wf.steps)
      .filter((s) => s.kind === 'tool' && (Object.hasOwn(doc.tools, s.tool) ? doc.tools[s.tool]!.type : s.tool) === 'shell')
      .map((s) => s.id),
  );
}
