// `wfmesh` from source for tests (startCli in bin-helpers.ts): the same main() the binary runs.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
