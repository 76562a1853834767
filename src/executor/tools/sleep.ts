import { z } from 'zod';
import type { ToolHandler } from '../types.js';
import { abortableDelay, parseArgs } from '../failures.js';

/** A day: longer sleeps are certainly a mistake in the workflow. */
const MAX_SLEEP_MS = 86_400_000;

const SleepArgs = z.object({ ms: z.number().int().nonnegative().max(MAX_SLEEP_MS) });

/** `sleep`: waits `args.ms` (abortable); output `{slept_ms}`. */
export const sleepTool: ToolHandler = {
  type: 'sleep',
  methods: ['sleep'],
  schemas: { sleep: { description: 'Wait ms milliseconds; returns {slept_ms}', args: SleepArgs } },
  async run(call, ctx) {
    const { ms } = parseArgs(SleepArgs, call.args, 'sleep');
    await abortableDelay(ms, ctx.signal);
    return { slept_ms: ms };
  },
};
