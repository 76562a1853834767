#!/usr/bin/env node
// Runs the test suite with Node's own test runner (TypeScript through tsx).
// Arguments: folders or files to run (default: test/unit then test/integration).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const targets = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) { if (path.endsWith('.test.ts')) out.push(path); return out; }
  for (const entry of readdirSync(path).sort()) collect(join(path, entry), out);
  return out;
}

const files = (targets.length ? targets : ['test/unit', 'test/integration'])
  .flatMap((t) => collect(join(root, t), []))
  .map((f) => relative(root, f));
if (files.length === 0) { process.stderr.write('no test files found\n'); process.exit(1); }

const concurrency = process.env.WFMESH_TEST_CONCURRENCY ?? '2';
const res = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', '--test-reporter=spec', ...passThrough, ...files,
], { cwd: root, stdio: 'inherit' });
process.exit(res.status ?? 1);
