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

/** Bytes gathered before a batched write (under sonic-boom's 16 KiB maxWrite, which it requires), and the longest a line waits. */
const BATCH_BYTES = 12_288;
const BATCH_MS = 50;

/** A pino destination on `fd` that writes as `mode` says. */
export function logDestination(mode: LogWriteMode, fd = 2): DestinationStream {
  if (mode === 'sync') return pino.destination({ fd, sync: true });
  const dest = pino.destination({ fd, sync: true, minLength: BATCH_BYTES });
  // The buffer goes out when it is full; a timer started by the first line of a batch sends the
  // rest. The timer is unref'd and absent while nothing is logged (an idle node never wakes for it).
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (!(dest as unknown as { destroyed: boolean }).destroyed) dest.flush();
  };
  const write = dest.write.bind(dest);
  dest.write = (line: string) => {
    const ok = write(line);
    if (!timer) {
      timer = setTimeout(flush, BATCH_MS);
      timer.unref();
    }
    return ok;
  };
  process.once('exit', () => {
    if (!(dest as unknown as { destroyed: boolean }).destroyed) dest.flushSync();
  });
  return dest;
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
