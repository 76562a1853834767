import pino, { type DestinationStream, type Logger } from 'pino';
import { MeshError } from '../protocol/errors.js';
import { prettyStderr } from './pretty.js';

export type { Logger } from 'pino';

/**
 * How log lines (audit lines included) reach stderr, from WFMESH_LOG_WRITE:
 * - `batched` (default): lines gather in memory and go out in one write per 12 KiB or 50 ms, never
 *   in front of a reply (an audit line per step used to cost a write per step). Writes are
 *   synchronous, so lines stay whole and in order, and a clean exit writes the rest; a kill -9 may
 *   lose the last 50 ms.
 * - `sync`: one write per line, done before the code goes on (nothing lost on a crash; slowest).
 * (pino's asynchronous mode is not offered: at exit it may write a line that was in flight after
 * the lines that followed it.)
 */
export type LogWriteMode = 'batched' | 'sync';

const WRITE_MODES: readonly LogWriteMode[] = ['batched', 'sync'];

/** The write mode from the environment; a value that is not one of them is a clear error. */
export function logWriteMode(env: NodeJS.ProcessEnv = process.env): LogWriteMode {
  const value = env.WFMESH_LOG_WRITE ?? 'batched';
  if (!(WRITE_MODES as readonly string[]).includes(value)) {
    throw new MeshError('CONFIG_INVALID', `WFMESH_LOG_WRITE: "${value}" is not one of ${WRITE_MODES.join(', ')}`);
  }
  return value as LogWriteMode;
}

/** Characters gathered before a batched write, and the longest a line waits. */
const BATCH_CHARS = 12_288;
const BATCH_MS = 50;

/**
 * Lines gathered in an array and handed to the writer joined, once per batch: sonic-boom's own
 * batching (`minLength`) grows one string line by line and measures its bytes on every line,
 * which cost more than the write itself (a third of a busy worker's audit cost, measured).
 */
class BatchedLines {
  private lines: string[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: ReturnType<typeof pino.destination>) {}

  write(line: string): boolean {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= BATCH_CHARS) this.flush();
    else if (!this.timer) {
      // Unref'd, and absent while nothing is logged: an idle node never wakes for it.
      this.timer = setTimeout(this.flush, BATCH_MS);
      this.timer.unref();
    }
    return true;
  }

  readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0 || (this.out as unknown as { destroyed: boolean }).destroyed) return;
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.out.write(text);
  };
}

/** A pino destination on `fd` that writes as `mode` says. */
export function logDestination(mode: LogWriteMode, fd = 2): DestinationStream {
  const out = pino.destination({ fd, sync: true });
  if (mode === 'sync') return out;
  const batched = new BatchedLines(out);
  process.once('exit', batched.flush);
  return batched;
}

/**
 * The process logger on stderr (stdout carries results, and the MCP protocol in stdio mode): pino
 * JSON, or one readable line per entry when stderr is a terminal (WFMESH_LOG_FORMAT=json|pretty
 * decides otherwise). Level from WFMESH_LOG_LEVEL (default info); how lines are written from
 * WFMESH_LOG_WRITE (see LogWriteMode).
 */
export function createLogger(bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.WFMESH_LOG_LEVEL ?? 'info';
  const format = process.env.WFMESH_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const destination = format === 'pretty' ? prettyStderr() : logDestination(logWriteMode());
  return pino({ level, base: { pid: process.pid, ...bindings } }, destination);
}

/** A logger that writes nothing (library use, tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
