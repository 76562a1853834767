const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON to bytes for NATS payloads. */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Bytes to JSON; malformed input yields undefined (the zod schema then rejects it). */
export function decodeJson(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}
