/**
 * Step ids of an agent's tool calls: `<agent step>/tool/<round>.<index>` (and `.list` for an MCP
 * server's listing), so that audit lines, metrics and the node running the agent can tell them.
 */
const MARK = '/tool/';

export function toolCallId(stepId: string, suffix: string): string {
  return `${stepId}${MARK}${suffix}`;
}

/** The agent step a tool call belongs to, or undefined for an ordinary step. */
export function agentStepOf(stepId: string): string | undefined {
  const at = stepId.lastIndexOf(MARK);
  return at > 0 ? stepId.slice(0, at) : undefined;
}
