// Child process for write-modes.test.ts: writes N audit lines through createLogger (stderr goes to
// the file named by argv[3]), with a plain log line after every hundredth; reports on stdout how
// many lines the file holds after a pause (the batch timer must have sent them), then writes three
// more audit lines 15 ms apart and exits cleanly (the exit flush sends what is left).
import { readFileSync } from 'node:fs';
import { auditLog } from '../../../src/node/audit.js';
import { createLogger } from '../../../src/log/index.js';

const count = Number(process.argv[2]);
const stderrFile = process.argv[3]!;
const log = createLogger({ node: 'fixture' });
for (let i = 0; i < count; i++) {
  // Some lines carry text of 2, 3 and 4 bytes a character, one of them longer than a whole batch.
  const requestedBy = i % 7 === 0 ? `clé-✓-😀-${i}` : 'test';
  const error = i === 250 ? { type: 'tool_error', message: 'é'.repeat(40_000) } : undefined;
  auditLog(log, { event: 'step', execution_id: `ex-${i}`, step_id: 's1', requested_by: requestedBy, node: 'fixture', outcome: error ? 'failed' : 'completed', attempt: 1, ...(error && { error }) });
  if (i % 100 === 99) log.info({ after: `ex-${i}` }, 'a plain line');
}
await new Promise((r) => setTimeout(r, 400));
const lines = readFileSync(stderrFile, 'utf8').split('\n').filter(Boolean).length;
process.stdout.write(`${lines}\n`);
for (let i = count; i < count + 3; i++) {
  if (i > count) await new Promise((r) => setTimeout(r, 15));
  auditLog(log, { event: 'step', execution_id: `ex-${i}`, step_id: 's1', requested_by: 'test', node: 'fixture', outcome: 'completed', attempt: 1 });
}
process.exit(0); // the last of the lines above is still in the batch: the exit flush must send it
