import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The process logger: pino JSON on stderr (stdout carries results, and the MCP protocol in stdio mode).
 * Level from WFMESH_LOG_LEVEL (default info; tests may set silent).
 */
export function createLogger(bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.WFMESH_LOG_LEVEL ?? 'info';
  return pino({ level, base: { pid: process.pid, ...bindings } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that writes nothing (library use, tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
