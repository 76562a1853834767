import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_TOOL_TYPES } from '../../../src/executor/index.js';
import { ALL_TOOL_HANDLERS } from '../../../src/executor/tools/all.js';

const srcDir = fileURLToPath(new URL('../../../src/executor/', import.meta.url));

/** Every module a file reaches through static imports (relative ones followed, packages listed). */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] ?? m[2] ?? '';
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('built-in tools', () => {
  test('BUILTIN_TOOL_TYPES lists every handler, in order', () => {
    assert.deepEqual(ALL_TOOL_HANDLERS.map((h) => h.type), [...BUILTIN_TOOL_TYPES]);
  });

  test('the slim worker entry loads neither openai nor the MCP SDK', () => {
    const { packages } = importGraph(resolve(srcDir, 'isolated/worker-core.ts'));
    const heavy = [...packages].filter((p) => p === 'openai' || p.startsWith('@modelcontextprotocol/'));
    assert.deepEqual(heavy, []);
    const full = importGraph(resolve(srcDir, 'isolated/worker-full.ts')).packages;
    assert.ok(full.has('openai'), 'the graph walker sees heavy imports at all');
  });
});
