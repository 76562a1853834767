import type { CliCommand } from '../command.js';

/** Every `wfmesh` sub-command, in the order `wfmesh --help` lists them. */
export const commands: CliCommand[] = [];
