#!/usr/bin/env node
// The package's bin: runs the compiled CLI. `npm run build` (or `npm start`/`npm test`) makes dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('wfmesh is not built yet: run `npm run build` (or `npm start`) in the wfmesh folder first.\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
