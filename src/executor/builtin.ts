/** Every built-in tool type, in the order a node lists them (kept equal to the handlers by a test). */
export const BUILTIN_TOOL_TYPES: readonly string[] = ['filesystem', 'http', 'transform', 'shell', 'mcpremote', 'echo', 'sleep'];
