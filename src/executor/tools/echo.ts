import { z } from 'zod';
import { runLater, type ToolCall, type ToolHandler } from '../types.js';

const EchoArgs = z.record(z.string(), z.unknown());

/** `echo`: its output is its `args` (for tests and benches). Any method name is accepted. */
export const echoTool: ToolHandler = {
  type: 'echo',
  methods: ['echo'],
  schemas: { echo: { description: 'Returns its arguments unchanged', args: EchoArgs } },
  run: runLater(echo),
  runNow: echo,
};

function echo(call: ToolCall): unknown {
  return call.args ?? null;
}
