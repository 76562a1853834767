#!/usr/bin/env node
// `npm run build:bin`: one self-contained Linux executable, dist/wfmesh.
//   0. the dashboard's assets are embedded (scripts/build-dashboard.mjs);
//   1. esbuild bundles src/cli/main.ts and every dependency into one CommonJS file (a Node SEA
//      can only `require` built-in modules, so nothing stays external);
//   2. `node --experimental-sea-config` turns it into a blob;
//   3. the blob is injected into a copy of this Node executable with postject.
// Options: --bundle-only (stop after step 1), --out FILE (default dist/wfmesh).
// What the bundle rules out is in DESIGN.md section 7: no top-level await, no run-time import(),
// no pino transports.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const output = resolve(root, outIndex >= 0 ? (args[outIndex + 1] ?? '') : 'dist/wfmesh');
const work = join(root, 'dist', 'sea');
const bundleFile = join(work, 'wfmesh.cjs');
const blobFile = join(work, 'wfmesh.blob');
const say = (msg) => process.stderr.write(`[build:bin] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`[build:bin] ${msg}\n`);
  process.exit(1);
};

if (process.platform !== 'linux' || process.arch !== 'x64') {
  say(`note: building for ${process.platform}-${process.arch} (the supported target is linux-x64)`);
}
const [major] = process.versions.node.split('.').map(Number);
if ((major ?? 0) < 20) fail(`Node ${process.versions.node} cannot build a single executable; Node 20 or newer is needed`);

// The isolated executor starts each step in a fresh child process. Inside the binary there is no
// worker script to give `node`, so the binary starts itself with the hidden `__step-worker`
// command (a plain bundle run by `node` starts itself the same way).
const entry = `
import { main } from './src/cli/main.ts';
import { setIsolatedWorkerCommand } from './src/executor/index.ts';

function runningAsSea(): boolean {
  try {
    return require('node:sea').isSea();
  } catch {
    return false;
  }
}

setIsolatedWorkerCommand(
  runningAsSea()
    ? { command: process.execPath, args: ['__step-worker'] }
    : { command: process.execPath, args: [__filename, '__step-worker'] },
);
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(String((err && err.stack) || err) + '\\n'); process.exitCode = 1; },
);
`;

// ESM code reads import.meta.url (to find files beside itself); a CommonJS bundle has no
// import.meta, so it gets the bundle's own file URL. Inside the SEA, __filename is the executable.
const banner = `const __wfmeshImportMetaUrl = require('node:url').pathToFileURL(typeof __filename === 'string' ? __filename : process.execPath).href;`;

// A clean clone has no node_modules yet: install the locked dependencies (esbuild, postject) first.
if (!existsSync(join(root, 'node_modules', 'esbuild')) || !existsSync(join(root, 'node_modules', 'postject'))) {
  say('installing node modules (npm ci)');
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (npm.status !== 0) fail('npm ci failed (see above)');
}
// The dashboard's page, script and style sheet are compiled in as strings: refresh them first.
const dashboard = spawnSync(process.execPath, [join(root, 'scripts', 'build-dashboard.mjs')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
if (dashboard.status !== 0) fail('building the dashboard assets failed (see above)');
const esbuild = await import('esbuild').catch((err) => fail(`cannot load esbuild: ${err.message}`));
mkdirSync(work, { recursive: true });
say('bundling src/cli/main.ts with esbuild');
const result = await esbuild.build({
  stdin: { contents: entry, resolveDir: root, sourcefile: 'wfmesh-sea-entry.ts', loader: 'ts' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: bundleFile,
  define: { 'import.meta.url': '__wfmeshImportMetaUrl' },
  banner: { js: banner },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const problems = result.warnings.filter((w) => !/"import\.meta" is not available/.test(w.text));
if (problems.length) say(`${problems.length} esbuild warning(s) above`);
// A dynamic import() left in the bundle would fail inside the SEA (it cannot load files).
const bundled = readFileSync(bundleFile, 'utf8');
const dynamicImports = Object.values(result.metafile.outputs)
  .flatMap((o) => o.imports)
  .filter((i) => i.kind === 'dynamic-import' && !i.external);
if (dynamicImports.length) say(`warning: ${dynamicImports.length} dynamic import(s) in the bundle: ${dynamicImports.map((i) => i.path).join(', ')}`);
say(`bundle: ${relative(root, bundleFile)} (${(bundled.length / 1e6).toFixed(1)} MB)`);
if (args.includes('--bundle-only')) process.exit(0);

say('making the SEA blob');
const seaConfig = join(work, 'sea-config.json');
writeFileSync(seaConfig, JSON.stringify({ main: bundleFile, output: blobFile, disableExperimentalSEAWarning: true }, null, 2));
const blob = spawnSync(process.execPath, ['--experimental-sea-config', seaConfig], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
if (blob.status !== 0 || !existsSync(blobFile)) fail('node --experimental-sea-config failed (see above)');

say(`injecting it into a copy of ${process.execPath}`);
mkdirSync(dirname(output), { recursive: true });
rmSync(output, { force: true });
copyFileSync(process.execPath, output);
chmodSync(output, 0o755);
// postject in a child process: its ELF library prints harmless "Can't find string offset for
// section name" warnings on stderr, which are filtered out here.
const injected = spawnSync(
  process.execPath,
  [require.resolve('postject/dist/cli.js'), output, 'NODE_SEA_BLOB', blobFile, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
  { cwd: root, encoding: 'utf8' },
);
const noise = /^warning: Can't find string offset for section name/;
const postjectOutput = `${injected.stdout}${injected.stderr}`.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''))
  .filter((l) => l.trim() && !noise.test(l) && !/Start injection|Injection done/.test(l));
if (injected.status !== 0) {
  rmSync(output, { force: true });
  fail(`postject could not inject the blob (this Node build may lack the SEA fuse; use an official Node 20+ build):\n${postjectOutput.join('\n')}`);
}
for (const line of postjectOutput) say(`postject: ${line}`);
say(`done: ${relative(process.cwd(), output) || output} (${Math.round(statSync(output).size / 2 ** 20)} MiB); try \`${relative(process.cwd(), output)} --help\``);
