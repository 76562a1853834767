import assert from 'node:assert/strict';
import { test } from 'node:test';
import { intFlag } from '../../../src/cli/command.js';

const args = (values: Record<string, string>) => ({ values, positionals: [] });

test('integer flags: absent gives the fallback, a bad value names the flag and the range', () => {
  assert.equal(intFlag(args({}), 'nodes', { min: 1 }, 3), 3);
  assert.equal(intFlag(args({}), 'nodes', { min: 1 }), undefined);
  assert.equal(intFlag(args({ nodes: '5' }), 'nodes', { min: 1 }, 3), 5);
  assert.throws(() => intFlag(args({ nodes: '0' }), 'nodes', { min: 1 }), /--nodes must be an integer of at least 1, got "0"/);
  assert.throws(() => intFlag(args({ limit: '900' }), 'limit', { min: 1, max: 500 }), /--limit must be an integer from 1 to 500/);
  assert.throws(() => intFlag(args({ 'mcp-port': 'x' }), 'mcp-port', { min: 0, max: 65535 }), /--mcp-port must be an integer from 0 to 65535, got "x"/);
});
