// Property: whatever the description, the template generator returns a workflow that validates
// and can be placed on the mesh it was given. 500 descriptions from word lists, seeded PRNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPlaceable, generateWorkflow, type Complexity } from '../../../src/generate/index.js';
import { validateWorkflowText } from '../../../src/workflow/index.js';
import { threeNodeMesh, threeNodeMeshWithoutModels } from './meshes.js';
import { seededRandom } from '../../harness/random.js';

const prng = seededRandom;

const VERBS = ['review', 'summarize', 'translate', 'classify', 'analyze', 'extract the dates from', 'audit', 'count the words in', 'fetch', 'compare', 'triage', 'clean up', 'score', 'describe', 'check', 'convert', 'tag', 'index', 'do something with', ''];
const OBJECTS = [
  'the TypeScript files in src', 'the python scripts under scripts', 'the markdown files in the docs folder', 'notes.md', 'data/Report.CSV',
  'https://api.example.com/v1/items?limit=10', 'the customer emails', 'each line of the input', 'all the files', 'the logs in logs/app',
  'the README.md file', 'the support tickets', 'this text', 'every item in the list', 'http://example.org/feed.json', '*.json files',
  'the images', 'the tests in test/unit', 'the config in config/nodes', 'the invoices',
];
const MODIFIERS = [
  'in parallel', 'from several perspectives', 'if it is urgent escalate it, otherwise archive it', 'for each item', 'one by one',
  'on a GPU', 'using CUDA inference', 'in the EU', 'GDPR compliant', 'in the US region', 'in us-east', 'in eu-west', 'in asia',
  'and combine the results', 'and merge everything', 'when there is an error', 'depending on the sentiment', 'then aggregate',
  'with a shell command', 'quickly', 'carefully', 'in batch', 'unless it is spam', 'and compare both',
];
const OUTPUTS = ['', '', 'and write a report', 'and save it to out/summary.md', 'and store the result as result.json', 'and produce a short summary', 'and write the digest to reports/weekly.txt'];
const NOISE = ['', '', '', 'please', 'ASAP', '${not.a.var}', '{{braces}}', '"quoted words"', 'émoji ✓ ünïcode', '../../etc/passwd', 'a;b|c', '   '];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T;
}

function description(rnd: () => number): string {
  const parts = [pick(rnd, VERBS), pick(rnd, OBJECTS)];
  const mods = Math.floor(rnd() * 4);
  for (let i = 0; i < mods; i++) parts.push(pick(rnd, MODIFIERS));
  parts.push(pick(rnd, OUTPUTS), pick(rnd, NOISE));
  if (rnd() < 0.2) parts.reverse();
  const text = parts.filter(Boolean).join(' ');
  return rnd() < 0.1 ? text.toUpperCase() : text;
}

test('500 random descriptions: every template workflow validates and is placeable on a 3-node mesh', async () => {
  const rnd = prng(20240611);
  const complexities: Complexity[] = ['simple', 'medium', 'complex'];
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const text = description(rnd) || 'do it';
    const complexity = pick(rnd, complexities);
    // Half the runs on a mesh without models: those must come out tool-only and still valid.
    const caps = i % 2 === 0 ? threeNodeMesh() : threeNodeMeshWithoutModels();
    const where = `#${i} (${complexity}, ${i % 2 === 0 ? 'models' : 'no models'}): "${text}"`;
    const r = await generateWorkflow({ description: text, complexity, generator: 'template' }, { capabilities: caps });
    assert.equal(r.generator, 'template', where);
    const v = validateWorkflowText(r.yaml);
    assert.equal(v.valid, true, `${where}\n${JSON.stringify(v.errors, null, 2)}\n${r.yaml}`);
    assert.deepEqual(checkPlaceable(v.document!, caps), [], `${where}\n${r.yaml}`);
    if (i % 2 === 1) assert.equal(Object.keys(v.document!.agents).length, 0, `${where}: agents on a mesh without models`);
    assert.doesNotMatch(r.yaml, /tool: shell/, where);
    seen.add(r.yaml.split('\n').find((l) => l.startsWith('# patterns:')) ?? '');
  }
  // The word lists reach many pattern combinations, not one shape over and over.
  assert.ok(seen.size >= 12, `only ${seen.size} pattern combinations: ${[...seen].join(' | ')}`);
});
