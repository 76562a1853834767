import { z } from 'zod';
import type { ToolHandler } from '../types.js';
import { parseArgs } from '../failures.js';
import { methodOf } from '../tools/method.js';

const METHODS = ['crash', 'exit', 'loop', 'oom', 'abort'] as const;

/**
 * Test-only misbehaviour, to prove that isolation contains it: an uncaught exception, an explicit
 * `process.exit`, an endless loop, runaway memory, an abort signal. A worker offers it only when
 * WFMESH_TEST_FAULTS=1 is in its environment, and no node ever advertises it.
 */
export const faultTool: ToolHandler = {
  type: 'fault',
  methods: METHODS,
  run(call) {
    const method = methodOf(call, 'fault', METHODS);
    switch (method) {
      case 'crash':
        setImmediate(() => {
          throw new Error('fault: deliberate crash');
        });
        return new Promise(() => undefined);
      case 'exit': {
        const { code } = parseArgs(z.object({ code: z.number().int().min(0).max(255).default(3) }), call.args, 'fault.exit');
        process.exit(code);
      }
      // falls through: process.exit never returns
      case 'loop':
        for (;;) {
          /* spin: only SIGKILL ends this */
        }
      case 'oom': {
        const hoard: unknown[] = [];
        for (;;) hoard.push(new Array(100_000).fill({ leak: hoard.length }));
      }
      case 'abort':
        process.abort();
    }
    return Promise.resolve(null);
  },
};
