import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'node', 'v']);

/** One pino JSON line as a line for people: `12:03:04 INFO  node-1  msg  key=value ...`. Pure. */
export function formatLogLine(line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now()).toISOString().slice(11, 19);
  const name = LEVELS[level] ?? String(level);
  const tag = color ? `\x1b[${COLORS[level] ?? '0'}m${name}\x1b[0m` : name;
  const extras = Object.entries(entry)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const node = typeof entry.node === 'string' ? `${entry.node}  ` : '';
  return `${time} ${tag} ${node}${String(entry.msg ?? '')}${extras.length ? `  ${extras.join(' ')}` : ''}`;
}

/** A stream pino writes JSON lines to; it prints them formatted on stderr (for a terminal). */
export function prettyStderr(): Writable {
  const color = process.stderr.hasColors?.() ?? false;
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) process.stderr.write(`${formatLogLine(line, color)}\n`);
      done();
    },
  });
}
