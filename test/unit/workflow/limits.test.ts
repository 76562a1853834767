/**
 * No document stalls the validator: the graph checks are linear in the document, and deep
 * nesting or several documents are refused before the YAML library builds anything.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DOCUMENT_BYTES, MAX_SCAN_DEPTH, validateWorkflowText, type ValidationStats } from '../../../src/workflow/index.js';

/** LAYERS layers of workflows; every workflow of a layer invokes the next layer's workflow twice. */
function doubleInvocation(layers: number): string {
  const lines = ['workflows:'];
  for (let i = 0; i < layers; i++) {
    lines.push(`  w${i}:`, '    steps:');
    if (i === layers - 1) lines.push('      - {id: leaf, tool: echo, args: {x: 1}}');
    else lines.push(`      - {id: a, invoke_workflow: w${i + 1}}`, `      - {id: b, invoke_workflow: w${i + 1}}`);
  }
  return lines.join('\n');
}

describe('validation is linear in the document', () => {
  test('26 layers of double invocation: each call edge is followed once, not once per path', () => {
    const text = doubleInvocation(26);
    assert.ok(text.length > 1500 && text.length < 4000, `${text.length} bytes`);
    const stats: ValidationStats = { invokeEdgesVisited: 0, ancestorWalks: 0 };
    const r = validateWorkflowText(text, { stats });
    assert.deepEqual(r.errors, []);
    // 25 workflows with two invoke steps each: 50 edges. Walking every path would be 2^26.
    assert.equal(stats.invokeEdgesVisited, 50);
    // No step reads another's output, so no ancestor set is computed at all.
    assert.equal(stats.ancestorWalks, 0);
  });

  test('work grows with the document: twice the layers, twice the edges', () => {
    const counts = [20, 40].map((layers) => {
      const stats: ValidationStats = { invokeEdgesVisited: 0, ancestorWalks: 0 };
      assert.equal(validateWorkflowText(doubleInvocation(layers), { stats }).valid, true);
      return stats.invokeEdgesVisited;
    });
    assert.deepEqual(counts, [38, 78]);
  });

  test('a cycle through the layers is still found, once', () => {
    const text = `${doubleInvocation(6).replace('{id: leaf, tool: echo, args: {x: 1}}', '{id: back, invoke_workflow: w0}')}`;
    const r = validateWorkflowText(text);
    assert.equal(r.valid, false);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]?.message ?? '', /workflows invoke each other in a cycle: w0 → w1 → w2 → w3 → w4 → w5 → w0/);
  });
});

describe('limits before parsing', () => {
  test('1 MB of nested brackets is refused by the scan, naming the limit and the line', () => {
    const half = (MAX_DOCUMENT_BYTES - 16) / 2;
    const text = `workflows: ${'['.repeat(half)}${']'.repeat(half)}`;
    assert.ok(Buffer.byteLength(text) <= MAX_DOCUMENT_BYTES);
    const r = validateWorkflowText(text);
    assert.equal(r.valid, false);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]?.line, 1);
    assert.match(r.errors[0]?.message ?? '', new RegExp(`nests deeper than the limit of ${MAX_SCAN_DEPTH} levels \\(refused before parsing\\)`));
  });

  test('deep block nesting (indentation and "- - -") is refused the same way', () => {
    const dashes = `workflows:\n  w:\n    ${'- '.repeat(500)}x\n`;
    assert.match(validateWorkflowText(dashes).errors[0]?.message ?? '', /nests deeper than the limit/);
    const indented = ['workflows:', ...Array.from({ length: 300 }, (_, i) => `${' '.repeat(i + 1)}k${i}:`)].join('\n');
    assert.match(validateWorkflowText(indented).errors[0]?.message ?? '', /nests deeper than the limit/);
  });

  test('over the size limit is refused with the limit', () => {
    const r = validateWorkflowText(`# ${'x'.repeat(MAX_DOCUMENT_BYTES)}\nworkflows: {}`);
    assert.match(r.errors[0]?.message ?? '', new RegExp(`larger than the limit of ${MAX_DOCUMENT_BYTES} bytes`));
  });

  test('brackets and dashes inside quotes, comments and prompts do not count', () => {
    const prompt = `${'[{'.repeat(100)} - - - `;
    const text = `agents:\n  - id: a\n    model: m\n    system_prompt: "${prompt}"  # ${'['.repeat(300)}\nworkflows:\n  w:\n    - {agent: a, input: 'x ${'{'.repeat(200)}'}\n`;
    assert.deepEqual(validateWorkflowText(text).errors, []);
  });

  test('several YAML documents get our message, not the library\'s', () => {
    const r = validateWorkflowText('workflows: {a: [{tool: echo}]}\n---\nworkflows: {b: [{tool: echo}]}\n');
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]?.message ?? '', /^the file holds several YAML documents \(separated by ---\)/);
    // A leading `---` is one document.
    assert.equal(validateWorkflowText('---\nworkflows: {a: [{tool: echo}]}\n').valid, true);
  });
});
