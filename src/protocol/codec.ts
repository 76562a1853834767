/**
 * JSON to bytes for NATS payloads. `Buffer.from` rather than `TextEncoder.encode`: for the small
 * messages of the step path it is several times cheaper (measured: ~0.6 µs against ~5 µs for a
 * step request), and a Buffer is the Uint8Array nats.js wants.
 */
export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * UTF-8 as Buffer#toString decodes it (a byte-order mark kept, bad bytes as U+FFFD), in about a
 * third of the time for a step request (measured: 126 against 337 ns for 315 bytes).
 */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Bytes to JSON; malformed input yields undefined (the zod schema then rejects it). */
export function decodeJson(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  try {
    return JSON.parse(utf8.decode(data));
  } catch {
    return undefined;
  }
}
