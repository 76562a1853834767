import { randomBytes } from 'node:crypto';

/**
 * A new execution id: time-ordered (base-36 milliseconds) then random, using only
 * [A-Za-z0-9_-], so it is a valid NATS subject token and KV key.
 */
export function newExecutionId(): string {
  const time = Date.now().toString(36).padStart(9, '0');
  return `${time}-${randomBytes(9).toString('base64url')}`;
}
