import pino, { type Logger } from 'pino';
import { prettyStderr } from './pretty.js';

export type { Logger } from 'pino';

/**
 * The process logger on stderr (stdout carries results, and the MCP protocol in stdio mode): pino
 * JSON, or one readable line per entry when stderr is a terminal (WFMESH_LOG_FORMAT=json|pretty
 * decides otherwise). Level from WFMESH_LOG_LEVEL (default info).
 */
export function createLogger(bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.WFMESH_LOG_LEVEL ?? 'info';
  const format = process.env.WFMESH_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const destination = format === 'pretty' ? prettyStderr() : pino.destination({ fd: 2, sync: false });
  return pino({ level, base: { pid: process.pid, ...bindings } }, destination);
}

/** A logger that writes nothing (library use, tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
