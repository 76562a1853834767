import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startNodeProcess } from './node-process.js';
import { median, round } from './stats.js';

const BIN = fileURLToPath(new URL('../bin/wfmesh.js', import.meta.url));

/** Wall time of one `wfmesh ARGS` from the build, spawn to exit; rejects unless it exits 0. */
function timeCli(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WFMESH_LOG_LEVEL: 'warn' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`wfmesh ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/**
 * What a person waits for at the prompt. cli_help_ms: `wfmesh --help`. cli_nodes_ms: `wfmesh nodes`
 * on an idle mesh of the in-process observer and two node processes (connect, hear every node,
 * fetch one view, print, exit). Both from process start to exit, medians of `rounds`.
 */
export async function measureCli(url: string, rounds: number): Promise<{ cli_help_ms: number; cli_nodes_ms: number }> {
  const nodes = [await startNodeProcess(['--nats', url, '--name', 'bench-cli-1', '--no-mcp']), await startNodeProcess(['--nats', url, '--name', 'bench-cli-2', '--no-mcp'])];
  try {
    await new Promise((r) => setTimeout(r, 1_500)); // every node has heard the others
    const help: number[] = [];
    const list: number[] = [];
    for (let i = 0; i < rounds; i++) {
      help.push(await timeCli(['--help']));
      list.push(await timeCli(['nodes', '--nats', url]));
    }
    return { cli_help_ms: round(median(help), 0), cli_nodes_ms: round(median(list), 0) };
  } finally {
    for (const n of nodes) n.kill('SIGKILL');
  }
}
