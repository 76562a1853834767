import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readIntent } from '../../../src/generate/template/index.js';

describe('readIntent', () => {
  test('a folder of files in a language, an output file named by its noun', () => {
    const i = readIntent('review the TypeScript files in src and write a report');
    assert.deepEqual(i.source, { kind: 'files', dir: 'src', extension: '.ts', language: 'typescript' });
    assert.equal(i.outputFile, 'report.md');
    assert.equal(i.action, 'review');
    assert.equal(i.slug, 'review-typescript-files-src-report');
  });

  test('paths and URLs keep their case; words do not', () => {
    assert.deepEqual(readIntent('Summarize Docs/Guide.MD please').source, { kind: 'file', path: 'Docs/Guide.MD' });
    assert.deepEqual(readIntent('fetch https://Example.com/API/Items, then count them').source, { kind: 'url', url: 'https://Example.com/API/Items' });
    assert.deepEqual(readIntent('list the files in the folder Inbox/2024').source.kind, 'files');
  });

  test('a file named as the destination is not the source', () => {
    const i = readIntent('summarize the input and save it to out/summary.md');
    assert.equal(i.source.kind, 'input');
    assert.equal(i.outputFile, 'out/summary.md');
  });

  test('"in parallel", "of the input" and the like are not folders', () => {
    assert.equal(readIntent('summarize each line of the input in parallel').source.kind, 'input');
    assert.equal(readIntent('analyze trends in data').source.kind, 'input');
    assert.deepEqual(readIntent('count the lines of the files in data').source, { kind: 'files', dir: 'data' });
  });

  test('patterns from cue words, strongest first; chain when none', () => {
    assert.deepEqual(readIntent('summarize this').patterns, ['chain']);
    assert.equal(readIntent('do it in parallel and combine the results').patterns[0], 'fan_out');
    assert.equal(readIntent('if it is urgent escalate, otherwise archive').patterns[0], 'conditional');
    assert.equal(readIntent('for each item, translate it').patterns[0], 'loop');
  });

  test('GPU, region and shell wishes', () => {
    const i = readIntent('run CUDA inference in the EU (GDPR), then a shell command');
    assert.equal(i.wantsGpu, true);
    assert.ok(i.regionWords.includes('eu') && i.regionWords.includes('gdpr'));
    assert.equal(i.wantsShell, true);
    assert.equal(readIntent('summarize it').wantsGpu, false);
  });

  test('a language counts only right before files or code; the first action word wins', () => {
    assert.deepEqual(readIntent('go through the files in docs').source, { kind: 'files', dir: 'docs' });
    assert.equal((readIntent('check the python scripts under scripts').source as { extension?: string }).extension, '.py');
    assert.equal(readIntent('summarize the notes, then review them').action, 'summarize');
  });

  test('".." never becomes a path', () => {
    assert.notEqual((readIntent('read the files in ../secrets').source as { dir?: string }).dir, '../secrets');
    assert.equal(readIntent('save the result to ../../etc/passwd.txt').outputFile, undefined);
  });
});
