import type { StepRunner } from '../engine/index.js';
import { ExecutionService } from '../executions/index.js';
import type { ExecutionMode } from '../protocol/execution.js';
import { ExecutionStore, WorkflowStore } from '../store/index.js';
import { auditExecution } from './audit.js';
import type { MeshNode } from './mesh-node.js';

/**
 * Creates the stores and the execution service of `node`. When the node stops, the service
 * hands its executions on while the node still serves steps (drain), before it leaves the mesh.
 */
export async function attachExecutions(node: MeshNode, runnerFor: (mode: ExecutionMode) => StepRunner): Promise<ExecutionService> {
  const log = node.log.child({ component: 'store' });
  const { executionTtlMs, replicas } = node.options.store;
  const store = new ExecutionStore(node.nc, { ttlMs: executionTtlMs, replicas, log });
  const workflows = new WorkflowStore(node.nc, { replicas, log });
  const service = await ExecutionService.create({
    self: { id: node.id, name: node.name },
    nc: node.nc,
    peers: node.registry,
    store,
    workflows,
    runnerFor,
    log: node.log.child({ component: 'executions' }),
    settings: {
      maxInputBytes: node.options.limits.maxInputBytes,
      allowedEnv: node.options.allow.env_vars,
      deadAfterMs: node.options.deadAfterMs,
    },
    observer: {
      started: (record) => {
        node.membership.noteBusy();
        node.metrics.executionStarted();
        auditExecution(node.log, node.name, record);
      },
      finished: (record, status) => {
        node.metrics.executionFinished(status);
        // Its steps that ran here end the turn with their audit lines: those go first.
        node.stepServer?.flushStepEnds();
        auditExecution(node.log, node.name, record);
      },
    },
  });
  node.executions = service;
  node.onDrain(() => service.drain());
  node.onStop(() => service.stop());
  return service;
}
