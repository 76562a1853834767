// Entry of an isolated step process that also runs agent steps (openai) and mcpremote (MCP SDK).
// Started by the isolated executor; never imported.
import { runAgentStep } from '../agent.js';
import { ALL_TOOL_HANDLERS } from '../tools/all.js';
import { runStepWorker } from './worker.js';

void runStepWorker({ handlers: ALL_TOOL_HANDLERS, agent: runAgentStep }).then((code) => process.exit(code));
