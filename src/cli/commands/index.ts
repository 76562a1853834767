import type { CliCommand } from '../command.js';
import { stepWorkerCommand } from './step-worker.js';
import { nodeCommand } from './node.js';
import { nodesCommand } from './nodes.js';
import { upCommand } from './up.js';
import { runCommand } from './run.js';
import { validateCommand } from './validate.js';
import { generateCommand } from './generate.js';
import { mcpCommand } from './mcp.js';
import { executionsCommand } from './executions.js';
import { cancelCommand } from './cancel.js';
import { authCommand } from './auth.js';

/** Every `wfmesh` sub-command, in the order `wfmesh --help` lists them. */
export const commands: CliCommand[] = [upCommand, nodeCommand, nodesCommand, runCommand, generateCommand, validateCommand, mcpCommand, executionsCommand, cancelCommand, authCommand, stepWorkerCommand];
