import { parseArgs } from 'node:util';
import type { CliCommand, CliIo } from './command.js';
import { commands, type CommandEntry } from './commands/index.js';
import { VERSION } from '../version.js';

const io: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

const EXIT_USAGE = 2;

function topHelp(): string {
  const listed = commands.filter((c) => !c.hidden);
  const width = Math.max(...listed.map((c) => c.name.length));
  return [
    'wfmesh: a peer-to-peer workflow-executor mesh over NATS',
    '',
    'usage: wfmesh <command> [options]',
    '',
    'commands:',
    ...listed.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `wfmesh <command> --help` for its options.',
  ].join('\n');
}

function commandHelp(cmd: CliCommand): string {
  return [`usage: wfmesh ${cmd.name} ${cmd.usage}`, '', cmd.summary].join('\n');
}

/**
 * What a failed command prints. A MeshError is expected (bad input, a taken port, no mesh): its
 * message is the whole story. Anything else is a bug in wfmesh, and its stack helps whoever reports it.
 */
async function reportFailure(entry: CommandEntry, err: unknown): Promise<number> {
  // Loaded here rather than at start-up: it pulls in zod, which `--help` does not need.
  const { MeshError } = await import('../protocol/errors.js');
  if (err instanceof MeshError) {
    io.err(`wfmesh ${entry.name}: ${err.message}`);
    return err.code === 'USAGE' ? EXIT_USAGE : 1;
  }
  io.err(`wfmesh ${entry.name}: internal error (a bug in wfmesh): ${(err as Error)?.stack ?? String(err)}`);
  return 1;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name ? 0 : EXIT_USAGE;
  }
  if (name === '--version' || name === '-v') {
    io.out(VERSION);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.err(`wfmesh: unknown command "${name}"\n\n${topHelp()}`);
    return EXIT_USAGE;
  }
  try {
    const cmd = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(commandHelp(cmd));
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    } catch (err) {
      io.err(`wfmesh ${cmd.name}: ${(err as Error).message}\n\n${commandHelp(cmd)}`);
      return EXIT_USAGE;
    }
    return await cmd.run(parsed as never, io);
  } catch (err) {
    return reportFailure(entry, err);
  }
}
