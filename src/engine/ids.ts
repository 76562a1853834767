import { randomFillSync } from 'node:crypto';

const ID_RANDOM_BYTES = 9;
/** Random bytes for 256 ids, drawn at once: one randomBytes(9) per id cost ~7 µs, a slice of the pool ~0.4 µs. */
const pool = Buffer.alloc(ID_RANDOM_BYTES * 256);
let used = pool.length;

function randomPart(): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool.toString('base64url', used, (used += ID_RANDOM_BYTES));
}

/**
 * A new execution id: time-ordered (base-36 milliseconds) then random (72 bits, from the
 * operating system's CSPRNG), using only [A-Za-z0-9_-], so it is a valid NATS subject token and
 * KV key.
 */
export function newExecutionId(): string {
  const time = Date.now().toString(36).padStart(9, '0');
  return `${time}-${randomPart()}`;
}
