import { runIsolatedStepWorker } from '../../executor/index.js';
import type { CliCommand } from '../command.js';

/**
 * Internal: the isolated step process, for builds that cannot start a worker script of their
 * own (the single binary starts itself as `<binary> __step-worker`). Not for people.
 */
export const stepWorkerCommand: CliCommand = {
  name: '__step-worker',
  summary: '(internal) run one isolated step sent by the parent node over IPC',
  usage: '',
  options: {},
  hidden: true,
  run: () => runIsolatedStepWorker(),
};
