/**
 * Turns what the `openai` SDK throws into one GENERATION_FAILED error that names the cause, so a
 * person can tell a wrong URL from a slow model from a refusal without reading a stack trace.
 */
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  ContentFilterFinishReasonError,
} from 'openai/error';
import { MeshError } from '../protocol/errors.js';

/** The distinct ways LLM generation fails; the first words of every message. */
export type GenerationFailureCause =
  | 'no endpoint'
  | 'unreachable'
  | 'timeout'
  | 'cancelled'
  | 'endpoint error'
  | 'refusal'
  | 'not JSON'
  | 'never validated';

export function generationFailed(cause: GenerationFailureCause, detail: string, details?: unknown): MeshError {
  return new MeshError('GENERATION_FAILED', `LLM generation failed (${cause}): ${detail}`, {
    cause,
    ...(details === undefined ? {} : { details }),
  });
}

/** Maps an error thrown by a chat-completions call; anything unexpected is rethrown unchanged. */
export function fromSdkError(err: unknown, where: { endpoint: string; model: string; timeout_ms: number }): Error {
  if (err instanceof APIUserAbortError) return generationFailed('cancelled', 'the request was cancelled');
  if (err instanceof APIConnectionTimeoutError) {
    return generationFailed(
      'timeout',
      `${where.endpoint} did not answer within ${where.timeout_ms} ms (model "${where.model}"); ` +
        'a local model may need a longer timeout',
    );
  }
  if (err instanceof APIConnectionError) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return generationFailed('unreachable', `cannot connect to ${where.endpoint}${cause}`);
  }
  if (err instanceof APIError) {
    const hint =
      err.status === 401 || err.status === 403
        ? ' (check OPENAI_API_KEY)'
        : err.status === 404
          ? ` (is "${where.model}" a model this endpoint serves, and does the URL end in /v1?)`
          : '';
    return generationFailed('endpoint error', `${where.endpoint} answered HTTP ${err.status}: ${err.message}${hint}`);
  }
  if (err instanceof ContentFilterFinishReasonError) {
    return generationFailed('refusal', 'the endpoint stopped the answer with its content filter');
  }
  return err instanceof Error ? err : new Error(String(err));
}
