import type { ExecutionRecord } from '../protocol/execution.js';

const encoder = new TextEncoder();

/** What replaces a value too large to keep in the execution store. */
export interface TruncatedValue {
  $truncated: true;
  /** Size of the value's JSON, in bytes. */
  bytes: number;
  note: string;
}

const NOTE = 'too large for the execution store; a caller that waited for the execution received it whole';

function marker(value: unknown): TruncatedValue {
  return { $truncated: true, bytes: encoder.encode(JSON.stringify(value) ?? '').length, note: NOTE };
}

/**
 * The record as bytes no larger than `maxBytes` (the server's max payload, less headroom). Big
 * values go first: step outputs, then the output, then the input; the shape stays valid, so the
 * record still parses everywhere, and the marker says how large the dropped value was.
 */
export function encodeRecord(record: ExecutionRecord, maxBytes: number): Uint8Array {
  let bytes = encoder.encode(JSON.stringify(record));
  if (bytes.length <= maxBytes) return bytes;
  const slim: ExecutionRecord = {
    ...record,
    steps: record.steps.map((s) => (s.output === undefined ? s : { ...s, output: marker(s.output) })),
  };
  bytes = encoder.encode(JSON.stringify(slim));
  if (bytes.length <= maxBytes) return bytes;
  if (slim.output !== undefined) slim.output = marker(slim.output);
  bytes = encoder.encode(JSON.stringify(slim));
  if (bytes.length <= maxBytes) return bytes;
  if (slim.input !== undefined) slim.input = marker(slim.input);
  bytes = encoder.encode(JSON.stringify(slim));
  if (bytes.length <= maxBytes) return bytes;
  // Only messages are left: thousands of steps with long errors. Keep their heads.
  slim.steps = slim.steps.map((s) => (s.error ? { ...s, error: { ...s.error, message: s.error.message.slice(0, 200) } } : s));
  if (slim.error) slim.error = { ...slim.error, message: slim.error.message.slice(0, 2_000) };
  return encoder.encode(JSON.stringify(slim));
}
