import { randomFillSync } from 'node:crypto';

const ID_RANDOM_BYTES = 9;
/** Nine bytes are exactly twelve base64url characters: the pool's text cut in twelves is each id's bytes encoded alone. */
const ID_RANDOM_CHARS = 12;
const IDS_PER_POOL = 256;
/**
 * Random bytes for 256 ids, drawn and encoded at once. One randomBytes(9) per id cost ~7 µs, and
 * encoding a slice of the pool per id (a call into Node's buffer binding) still cost several µs
 * in a process that just woke up; a slice of the pool's text is a string operation.
 */
const pool = Buffer.alloc(ID_RANDOM_BYTES * IDS_PER_POOL);
let poolText = '';
let used = IDS_PER_POOL;

function randomPart(): string {
  if (used === IDS_PER_POOL) {
    randomFillSync(pool);
    poolText = pool.toString('base64url');
    used = 0;
  }
  const start = used++ * ID_RANDOM_CHARS;
  return poolText.slice(start, start + ID_RANDOM_CHARS);
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
const TIME_DIGITS = 9;

/**
 * `ms.toString(36).padStart(9, '0')` for a whole non-negative number of milliseconds, in plain
 * JavaScript: the number's own conversion is a call into V8's runtime, several µs when cold.
 */
export function base36Time(ms: number): string {
  let text = '';
  let rest = ms;
  do {
    text = BASE36[rest % 36] + text;
    rest = Math.floor(rest / 36);
  } while (rest > 0);
  return text.length < TIME_DIGITS ? '0'.repeat(TIME_DIGITS - text.length) + text : text;
}

/**
 * A new execution id: time-ordered (base-36 milliseconds) then random (72 bits, from the
 * operating system's CSPRNG), using only [A-Za-z0-9_-], so it is a valid NATS subject token and
 * KV key.
 */
export function newExecutionId(): string {
  return `${base36Time(Date.now())}-${randomPart()}`;
}
