// Entry of a slim isolated step process: only the built-in tools that need no heavy module, so a
// fresh child starts fast. Started by the isolated executor; never imported.
import { CORE_TOOL_HANDLERS } from '../tools/core.js';
import { runStepWorker } from './worker.js';

void runStepWorker({ handlers: CORE_TOOL_HANDLERS }).then((code) => process.exit(code));
