/**
 * Step requests to one node made in one turn, joined into one NATS message (a coordinator with
 * many steps in flight on a node): `{"type":"wfmesh.step.batch.v1","reply_tokens":[...],"requests":[...]}`.
 * The message's reply subject is an inbox of the sender; request i is answered on its own, like a
 * request sent alone, under that same inbox with token i in place of the last token. Each
 * nats-server on the way handles one message instead of one per request, and the node parses the
 * lot in one go. Only nodes that advertise `takes_step_batches` are sent one.
 */

export const STEP_BATCH_TYPE = 'wfmesh.step.batch.v1';

/** The most requests one batch may hold (a whole max payload of the smallest requests is fewer). */
export const MAX_STEP_BATCH = 10_000;

/** A reply token: one NATS subject token, of the characters a sender's tokens use. */
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

const HEAD = Buffer.from(`{"type":"${STEP_BATCH_TYPE}","reply_tokens":[`);
const MIDDLE = Buffer.from('],"requests":[');
const TAIL = Buffer.from(']}');
const COMMA = Buffer.from(',');

/** One request or reply of a joined message: its encoded JSON and the reply token it goes under. */
export interface TokenedData {
  token: string;
  data: Uint8Array;
}

/**
 * The batch of encoded requests (JSON each) with their reply tokens, built from their bytes as
 * they are (no request is decoded or encoded again). Adds 64 bytes and, per request, its token
 * and 4 bytes (quotes and commas).
 */
export function joinStepRequests(items: readonly TokenedData[]): Uint8Array {
  const tokens = Buffer.from(items.map((i) => `"${i.token}"`).join(','));
  const parts: Uint8Array[] = [HEAD, tokens, MIDDLE];
  items.forEach((item, k) => {
    if (k > 0) parts.push(COMMA);
    parts.push(item.data);
  });
  parts.push(TAIL);
  return Buffer.concat(parts);
}

export type StepBatchRead = { ok: true; items: { token: string; request: unknown }[] } | { ok: false; error: string };

/**
 * A decoded message read as a step batch: undefined when it is not one (a request sent alone),
 * else its requests with their tokens, or what is wrong with it (the field named).
 */
export function readStepBatch(value: unknown): StepBatchRead | undefined {
  if (typeof value !== 'object' || value === null || (value as { type?: unknown }).type !== STEP_BATCH_TYPE) return undefined;
  const { reply_tokens: tokens, requests } = value as { reply_tokens?: unknown; requests?: unknown };
  if (!Array.isArray(tokens)) return { ok: false, error: 'reply_tokens: expected a list of reply tokens' };
  if (!Array.isArray(requests)) return { ok: false, error: 'requests: expected a list of step requests' };
  if (tokens.length !== requests.length) return { ok: false, error: `reply_tokens: ${tokens.length} tokens for ${requests.length} requests` };
  if (requests.length > MAX_STEP_BATCH) return { ok: false, error: `requests: ${requests.length} requests, over the most a batch may hold (${MAX_STEP_BATCH})` };
  const bad = tokens.findIndex((t) => typeof t !== 'string' || !TOKEN.test(t));
  if (bad >= 0) return { ok: false, error: `reply_tokens.${bad}: not a reply token (1 to 64 of A-Z, a-z, 0-9, _ and -)` };
  return { ok: true, items: requests.map((request, k) => ({ token: tokens[k] as string, request })) };
}

export const STEP_REPLIES_TYPE = 'wfmesh.step.replies.v1';

const REPLIES_HEAD = Buffer.from(`${STEP_REPLIES_TYPE}\n`);
const SPACE = 0x20;
const NEWLINE = 0x0a;
const LINE_END = Buffer.from('\n');

/**
 * Replies to requests that came in batches, to one inbox, joined into one message: a first line
 * `wfmesh.step.replies.v1`, then a line `<token> <reply>` per reply, the reply as encodeJson wrote
 * it. JSON.stringify escapes every line break inside a value, so the lines split without parsing
 * (splitStepReplies), and each reply is read as if it had come alone.
 */
export function joinStepReplies(items: readonly TokenedData[]): Uint8Array {
  const parts: Uint8Array[] = [REPLIES_HEAD];
  for (const item of items) parts.push(Buffer.from(`${item.token} `, 'latin1'), item.data, LINE_END);
  return Buffer.concat(parts);
}

/** The replies of a joinStepReplies message, by token (views of `data`, not copies); undefined for anything else. */
export function splitStepReplies(data: Uint8Array): TokenedData[] | undefined {
  if (data.length < REPLIES_HEAD.length || data[0] !== REPLIES_HEAD[0]) return undefined;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (bytes.compare(REPLIES_HEAD, 0, REPLIES_HEAD.length, 0, REPLIES_HEAD.length) !== 0) return undefined;
  const out: TokenedData[] = [];
  let at = REPLIES_HEAD.length;
  while (at < bytes.length) {
    const space = bytes.indexOf(SPACE, at);
    const end = bytes.indexOf(NEWLINE, at);
    if (space < 0 || end < 0 || space > end) break; // a torn line: what came before it stands
    out.push({ token: bytes.toString('latin1', at, space), data: bytes.subarray(space + 1, end) });
    at = end + 1;
  }
  return out;
}

/**
 * The messages that carry `replies` (to one inbox) within `maxPayload` bytes each: runs of them
 * joined, in order, each sent under its first reply's token; a reply alone goes as it is.
 */
export function repliesToSend(replies: readonly TokenedData[], maxPayload: number): TokenedData[] {
  const room = maxPayload - REPLIES_HEAD.length;
  const size = (r: TokenedData): number => r.token.length + 2 + r.data.length;
  const out: TokenedData[] = [];
  for (let from = 0; from < replies.length; ) {
    let to = from + 1;
    for (let bytes = size(replies[from]!); to < replies.length && bytes + size(replies[to]!) <= room; to++) bytes += size(replies[to]!);
    out.push(to - from === 1 ? replies[from]! : { token: replies[from]!.token, data: joinStepReplies(replies.slice(from, to)) });
    from = to;
  }
  return out;
}
