#!/usr/bin/env node
// Measures LangSwarm compatibility on LangSwarm's own files (not part of `npm test`).
//
//   node scripts/langswarm-compat.mjs [--git-dir DIR] [--keep]
//
// Extracts, from a bare git snapshot of aekdahl/LangSwarm, the workflow files and config folders
// LangSwarm itself loads (the `workflows.yaml` + `agents.yaml` folder of every MCP tool, the
// examples, the templates), then runs `wfmesh validate --json` once over all of them and prints
// how many are accepted and, for every one that is not, why. Then the same for the YAML blocks of
// LangSwarm's documentation that hold a workflow. Nothing is copied into the project.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const gitDir = flag('--git-dir') ?? '/work/.mirror/aekdahl+LangSwarm/repo';
const keep = args.includes('--keep');
const root = fileURLToPath(new URL('..', import.meta.url));

const git = (...a) => execFileSync('git', ['--git-dir', gitDir, ...a], { encoding: 'utf8', maxBuffer: 64 << 20 });
// The MCP tools live at HEAD; `archived/` (examples, V1 engine) was removed by the commit that
// touched it last, so it is read from that commit's parent.
const head = git('rev-parse', 'HEAD').trim();
const archivedAt = `${git('log', '--all', '--format=%H', '-1', '--', 'archived/examples').trim()}^`;

const work = mkdtempSync(join(tmpdir(), 'langswarm-compat-'));
const extract = (rev, paths) => {
  const tar = spawnSync('git', ['--git-dir', gitDir, 'archive', rev, ...paths], { maxBuffer: 256 << 20 });
  if (tar.status !== 0) throw new Error(`git archive ${rev}: ${tar.stderr}`);
  execFileSync('tar', ['x', '-C', work], { input: tar.stdout });
};
extract(head, ['langswarm/tools/mcp']);
extract(archivedAt, ['archived/examples', 'templates/deprecated', 'example_config.yaml', 'archived/v1/core/debug/test_configs']);

/** What LangSwarm loads: a folder with workflows.yaml is one config; any other YAML file with `workflows:` is one. */
const targets = [];
const list = (rev, prefix) => git('ls-tree', '-r', '--name-only', rev, '--', prefix).split('\n').filter(Boolean);
const hasWorkflows = (rev, path) => /^workflows:/m.test(git('show', `${rev}:${path}`));
for (const p of list(head, 'langswarm/tools/mcp')) if (p.endsWith('/workflows.yaml')) targets.push(p.slice(0, -'/workflows.yaml'.length));
for (const prefix of ['archived/examples', 'templates/deprecated', 'example_config.yaml', 'archived/v1/core/debug/test_configs']) {
  for (const p of list(archivedAt, prefix)) {
    if (!/\.ya?ml$/.test(p) || !hasWorkflows(archivedAt, p)) continue;
    const dir = p.slice(0, p.lastIndexOf('/'));
    if (p.endsWith('/workflows.yaml') && list(archivedAt, dir).some((f) => f.endsWith('/agents.yaml'))) targets.push(dir);
    else targets.push(p);
  }
}

const cli = join(root, 'src/cli/main.ts');
/** `wfmesh validate --json` over `files`, from the source: one result per file. */
const validate = (files) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(cli)}).then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`, 'validate', '--json', ...files], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  try {
    return JSON.parse(run.stdout);
  } catch {
    process.stderr.write(`wfmesh validate did not print JSON (exit ${run.status}):\n${run.stdout}\n${run.stderr}\n`);
    process.exit(2);
  }
};
const results = validate(targets.map((t) => join(work, t)));
let ok = 0;
const failures = [];
// PyYAML's safe_load, which LangSwarm reads configs with, refuses a file of several documents.
const multiDocument = (r) => r.errors.length === 1 && /several YAML documents/.test(r.errors[0].message);
const unloadable = results.filter((r) => !r.valid && multiDocument(r)).length;
for (const r of results) {
  const name = r.file.slice(work.length + 1);
  if (r.valid) ok++;
  else failures.push({ name, errors: r.errors, note: multiDocument(r) ? ' (LangSwarm cannot load it either: yaml.safe_load refuses several documents)' : '' });
}
const mcp = targets.filter((t) => t.startsWith('langswarm/tools/mcp/'));
const mcpOk = results.filter((r) => r.valid && r.file.includes('/langswarm/tools/mcp/')).length;
console.log(`LangSwarm ${head.slice(0, 8)} (archived/ at ${archivedAt.slice(0, 8)}…): ${ok} of ${results.length} accepted by wfmesh validate; MCP-tool folders ${mcpOk} of ${mcp.length}`);
console.log(`leaving out the ${unloadable} multi-document files LangSwarm cannot load: ${ok} of ${results.length - unloadable} (${Math.round((100 * ok) / (results.length - unloadable))}%)`);
for (const f of failures) {
  console.log(`\nFAIL ${f.name}${f.note}`);
  for (const e of f.errors.slice(0, 8)) console.log(`  ${e.file ? `${e.file}:` : ''}${e.line ?? ''} ${e.path}: ${e.message}`);
  if (f.errors.length > 8) console.log(`  ... ${f.errors.length - 8} more`);
}
// The YAML blocks of LangSwarm's documentation (Markdown at HEAD) that hold a workflow: the forms
// its docs teach, which users copy. Many are fragments (tools named but not defined), so this is a
// second figure beside the files above, not part of them.
const blocks = [];
for (const p of list(head, '.').filter((f) => /\.mdx?$/.test(f))) {
  for (const m of git('show', `${head}:${p}`).matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
    if (!/^workflows:/m.test(m[1]) || !/steps:|main_workflow/.test(m[1])) continue;
    const file = join(work, 'docs-blocks', `${p.replaceAll('/', '__')}__${blocks.length + 1}.yaml`);
    blocks.push({ doc: p, file, text: m[1] });
  }
}
if (blocks.length > 0) {
  mkdirSync(join(work, 'docs-blocks'), { recursive: true });
  for (const b of blocks) writeFileSync(b.file, b.text);
  const docResults = validate(blocks.map((b) => b.file));
  console.log(`\nYAML blocks with a workflow in LangSwarm's docs: ${docResults.filter((r) => r.valid).length} of ${docResults.length} accepted`);
  for (const r of docResults.filter((x) => !x.valid)) {
    const b = blocks.find((x) => x.file === r.file);
    console.log(`  FAIL ${b.doc} (block ${blocks.indexOf(b) + 1}): ${r.errors[0]?.message ?? ''}`);
  }
}
if (keep) console.log(`\nfiles kept in ${work}`);
else if (existsSync(work)) rmSync(work, { recursive: true, force: true });
