import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { commands } from '../../../src/cli/commands/index.js';

test('each command in the index loads a module of the same name and summary', async () => {
  for (const entry of commands) {
    const cmd = await entry.load();
    assert.equal(cmd.name, entry.name);
    assert.equal(cmd.summary, entry.summary, `the summary --help shows for ${entry.name} is the command's own`);
    assert.equal(cmd.hidden ?? false, entry.hidden ?? false);
  }
});

test('start-up imports stay lazy: main and the index import no command module and nothing heavy', () => {
  for (const file of ['src/cli/main.ts', 'src/cli/commands/index.ts']) {
    const eager = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => /^import (?!type )/.test(l))
      .map((l) => /from '([^']+)'/.exec(l)?.[1]);
    for (const spec of eager) assert.ok(spec === 'node:util' || spec === '../version.js' || spec === './commands/index.js', `${file} imports ${spec} at start-up`);
  }
});
