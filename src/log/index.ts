import pino, { type DestinationStream, type Logger } from 'pino';
import { MeshError } from '../protocol/errors.js';
import { prettyStderr } from './pretty.js';

export type { Logger } from 'pino';

/**
 * How log lines (audit lines included) reach stderr, from WFMESH_LOG_WRITE:
 * - `batched` (default): lines gather in memory and go out in one write per 60 KiB or 50 ms, never
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

/** Bytes gathered before a batched write (about: a line is counted by its length), and the longest a line waits. */
const BATCH_BYTES = 61_440;
const BATCH_MS = 50;
/** Room for a batch: a line is encoded in only when its worst case (3 bytes a UTF-16 unit) fits. */
const CHUNK_BYTES = 65_536;

/**
 * A log line made only when its batch is written (BatchedLines.writeLate): what a busy process
 * writes per event (an audit line per step) costs several times less made with the rest of its
 * batch, in a loop whose code is hot, than one at a time in the turn of the event.
 */
export interface LateLine {
  /** The line, ending in a newline: it says when the event was, not when the line is made. */
  render(): string;
}

/** What a late line counts for towards a batch's bytes before it is made (an audit line is about this). */
const LATE_LINE_BYTES = 320;

/** A destination that takes late lines (the batched one). */
export interface LateLineWriter {
  writeLate(line: LateLine): void;
}

/** What BatchedLines needs of its writer: pino's destination (sonic-boom) in buffer mode. */
interface ByteWriter {
  write(bytes: Buffer): boolean;
  readonly destroyed?: boolean;
}

/**
 * Lines gathered in order and handed to the writer as bytes, once per batch: pino's lines as they
 * came, late lines made then. Each line is read once, when it is encoded; a batch of strings
 * joined first read each line four times on its way out (the join, sonic-boom's byte count, the
 * write's encoding, and sonic-boom's copy of the whole batch as bytes after it was written),
 * which cost a busy worker more than making its audit lines. A batch's buffer is never reused:
 * the writer may keep what a short write left of it.
 */
class BatchedLines implements LateLineWriter {
  private lines: (string | LateLine)[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: ByteWriter) {}

  write(line: string): boolean {
    this.add(line, line.length);
    return true;
  }

  writeLate(line: LateLine): void {
    this.add(line, LATE_LINE_BYTES);
  }

  private add(line: string | LateLine, bytes: number): void {
    this.lines.push(line);
    this.bytes += bytes;
    if (this.bytes >= BATCH_BYTES) this.flush();
    else if (!this.timer) {
      // Unref'd, and absent while nothing is logged: an idle node never wakes for it.
      this.timer = setTimeout(this.flush, BATCH_MS);
      this.timer.unref();
    }
  }

  readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.lines;
    if (lines.length === 0) return;
    this.lines = [];
    this.bytes = 0;
    let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let used = 0;
    for (const item of lines) {
      const line = typeof item === 'string' ? item : made(item);
      if (used + line.length * 3 > chunk.length) {
        if (used > 0) {
          this.send(chunk.subarray(0, used));
          chunk = Buffer.allocUnsafe(CHUNK_BYTES);
          used = 0;
        }
        // A line longer than a whole chunk goes out on its own.
        if (line.length * 3 > chunk.length) {
          this.send(Buffer.from(line, 'utf8'));
          continue;
        }
      }
      used += chunk.write(line, used, 'utf8');
    }
    if (used > 0) this.send(chunk.subarray(0, used));
  };

  private send(bytes: Buffer): void {
    if (!this.out.destroyed) this.out.write(bytes);
  }
}

/** A late line made; one that fails is replaced by a line saying so (the batch, and the timer's turn, go on). */
function made(line: LateLine): string {
  try {
    return line.render();
  } catch (err) {
    return `${JSON.stringify({ level: 50, time: Date.now(), msg: `a log line could not be made: ${(err as Error).message}` })}\n`;
  }
}

/** Whether `destination` takes late lines (a logger's stream in the batched write mode). */
export function takesLateLines(destination: unknown): destination is LateLineWriter {
  return destination instanceof BatchedLines;
}

/** A pino destination on `fd` that writes as `mode` says. */
export function logDestination(mode: LogWriteMode, fd = 2): DestinationStream {
  if (mode === 'sync') return pino.destination({ fd, sync: true });
  // pino's destination is sonic-boom; in buffer mode it takes bytes (its types say strings only).
  const batched = new BatchedLines(pino.destination({ fd, sync: true, contentMode: 'buffer' } as Parameters<typeof pino.destination>[0]) as unknown as ByteWriter);
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
