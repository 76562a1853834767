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

/** Bytes gathered before a batched write, and the longest a line waits. */
const BATCH_BYTES = 61_440;
const BATCH_MS = 50;
/** Room for a batch: a line is encoded in only when its worst case (3 bytes a UTF-16 unit) fits. */
const CHUNK_BYTES = 65_536;

/** What BatchedLines needs of its writer: pino's destination (sonic-boom) in buffer mode. */
interface ByteWriter {
  write(bytes: Buffer): boolean;
  readonly destroyed?: boolean;
}

/**
 * Lines encoded into a byte buffer as they come and handed to the writer as bytes, once per batch.
 * A line is read once, when it is encoded; a batch of strings read each line four times on its
 * way out (the join, sonic-boom's byte count, the write's encoding, and sonic-boom's copy of the
 * whole batch as bytes after it was written), which cost a busy worker more than making its audit
 * lines. A batch's buffer is never reused: the writer may keep what a short write left of it.
 */
class BatchedLines {
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: ByteWriter) {}

  write(line: string): boolean {
    if (this.used + line.length * 3 > this.chunk.length) {
      this.flush();
      // A line longer than a whole chunk goes out on its own.
      if (line.length * 3 > this.chunk.length) return this.send(Buffer.from(line, 'utf8'));
    }
    this.used += this.chunk.write(line, this.used, 'utf8');
    if (this.used >= BATCH_BYTES) this.flush();
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
    if (this.used === 0) return;
    const bytes = this.chunk.subarray(0, this.used);
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    this.send(bytes);
  };

  private send(bytes: Buffer): boolean {
    if (!this.out.destroyed) this.out.write(bytes);
    return true;
  }
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
