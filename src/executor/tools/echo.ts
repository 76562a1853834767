import type { ToolHandler } from '../types.js';

/** `echo`: its output is its `args` (for tests and benches). Any method name is accepted. */
export const echoTool: ToolHandler = {
  type: 'echo',
  methods: ['echo'],
  instant: true,
  run: (call) => Promise.resolve(call.args ?? null),
};
