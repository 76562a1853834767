import type { Logger } from 'pino';
import { attachDashboard } from '../dashboard/index.js';
import { StepServer } from '../dispatch/step-server.js';
import { MeshStepRunner, SelfConstrainedRunner } from '../dispatch/index.js';
import { LocalStepRunner, type StepRunner } from '../engine/index.js';
import { createIsolatedExecutor, type IsolatedExecutor } from '../executor/index.js';
import { StepFailure } from '../protocol/errors.js';
import { ResultStore } from '../store/index.js';
import { StallWatch } from '../mesh/stall-watch.js';
import type { ExecutionMode } from '../protocol/execution.js';
import type { StepReply, StepRequest } from '../protocol/step.js';
import { auditStepReply } from './audit.js';
import type { ExecutionService } from '../executions/index.js';
import { attachExecutions } from './executions.js';
import { attachExecuteEndpoint } from './execute-endpoint.js';
import { MeshNode } from './mesh-node.js';
import type { NodeOptions } from './options.js';

/** The longest a starting node waits for its first view of the mesh before it says it joined. */
const JOIN_VIEW_WAIT_MS = 3_000;

/**
 * Starts a complete node: joins the mesh (MeshNode), then attaches what it serves.
 * Every node role (`wfmesh node`, `wfmesh up`, `wfmesh mcp --stdio`) starts here.
 */
export async function startNode(options: NodeOptions, log: Logger): Promise<MeshNode> {
  const node = await MeshNode.create(options, log);
  try {
    // Services attach here, in dependency order (step server, executions, MCP).
    const stepServer = attachStepServer(node);
    const executions = await attachExecutions(node, stepRunners(node));
    // Drains run in the order they are registered. Executions are handed on first, at once: a
    // stopping node may be given only seconds (an MCP client closing a stdio node sends SIGKILL 4 s
    // after stdin closes), and a step of theirs still running here is left running, for the
    // successor to collect. Then the steps running here finish, within the drain timeout.
    node.onDrain(() => stepServer.drain(node.options.drainTimeoutMs));
    attachExecuteEndpoint(node, executions);
    // The MCP server (and the workflow generator behind it) is loaded only by nodes that serve it.
    if (options.http.mcp) (await import('../mcp/index.js')).attachMcpHttp(node, executions);
    serveDashboard(node, executions);
  } catch (err) {
    await node.stop();
    throw err;
  }
  // Joined means knowing the mesh: a step placed before the first view would find only this node.
  await node.membership.joined(JOIN_VIEW_WAIT_MS);
  node.log.info({ id: node.id, region: options.region, http: node.http.url, nats: options.nats.servers }, 'node joined the mesh');
  return node;
}

/** The dashboard at `/`, fed by this node's registry, NATS and execution service. */
function serveDashboard(node: MeshNode, executions: ExecutionService): void {
  const dashboard = attachDashboard({
    http: node.http,
    nc: node.nc,
    peers: node.registry,
    executions: {
      list: (query) => executions.list(query),
      get: (id) => executions.get(id),
      cancel: (id) => executions.cancel(id, 'cancelled from the dashboard'),
      workflowText: async (record) => (await executions.store.source(record.execution_id))?.yaml,
    },
    nodeName: node.name,
    host: node.options.http.host,
    ...(node.options.http.token !== undefined && { token: node.options.http.token }),
    meshIntervalMs: Math.min(node.options.heartbeatMs, 1_000),
    log: node.log.child({ component: 'dashboard' }),
  });
  node.onStop(() => dashboard.close());
}

/** Takes steps from the mesh on this node's `step` endpoint (startNode drains it when the node stops). */
function attachStepServer(node: MeshNode): StepServer {
  // Made on first use: it keeps a warm worker process, which only nodes that run isolated steps need.
  let isolated: IsolatedExecutor | undefined;
  const isolatedExecutor = () => (isolated ??= createIsolatedExecutor(node.executorEnv, node.options.tools ? { tools: node.options.tools } : {}));
  const stalls = new StallWatch();
  const server = new StepServer({
    nc: node.nc,
    nodeId: node.id,
    nodeName: node.name,
    maxConcurrency: node.options.maxConcurrency,
    executor: node.executor,
    isolatedExecutor,
    accepting: () => node.state === 'RUNNING',
    // Load is never broadcast: probes of this node and the steps sent to it carry it.
    onLoadChange: (inflight) => {
      node.inflight = inflight;
      if (inflight > 0) node.membership.noteBusy();
    },
    log: node.log,
    onStepEnd: (req, reply, seconds) => stepEnded(node, req, reply, seconds),
    results: new ResultStore(node.nc, { replicas: node.options.store.replicas, log: node.log.child({ component: 'results' }) }),
    stalls: { watch: stalls, fenceAfterMs: node.options.deadAfterMs },
  });
  server.start();
  node.stepServer = server;
  node.onStop(async () => {
    stalls.stop();
    await isolated?.close();
  });
  return server;
}

/** Where the steps of each execution mode run. */
export function stepRunners(node: MeshNode): (mode: ExecutionMode) => StepRunner {
  // Sync: every step here, in process, as long as this node meets the step's hard constraints.
  const local = accounted(node, new SelfConstrainedRunner(new LocalStepRunner(node.executor, node.name), () => node.registry.get(node.id)));
  // Distributed, async and isolated: each step on the best peer (this node included); in isolated
  // mode the engine marks every call child_process, so the chosen node runs it in a fresh process.
  const distributed: StepRunner = new MeshStepRunner({
    nc: node.nc,
    registry: node.registry,
    origin: node.name,
    log: node.log,
    ...(node.stepServer && { local: { id: node.id, serve: (req) => node.stepServer!.serve(req), cancel: (id, key, reason) => node.stepServer!.cancel(id, key, reason) } }),
  });
  // An agent's tool calls go the same ways: to the best peer, or (sync) here.
  node.toolCalls.attach({ mesh: distributed, here: local, self: node.name });
  return (mode) => (mode === 'sync' ? local : distributed);
}

/** Every step this node ran ends here: metrics and the audit line. */
function stepEnded(node: MeshNode, req: StepRequest, reply: StepReply, seconds: number): void {
  node.metrics.stepReplied(reply, seconds);
  auditStepReply(node.log, node.name, req, reply, seconds);
}

/** Sync steps never reach the step server: account for them the same way. */
function accounted(node: MeshNode, inner: StepRunner): StepRunner {
  return {
    async run(call, signal) {
      const started = Date.now();
      const req: StepRequest = {
        type: 'wfmesh.step.request.v1',
        key: `${call.execution_id}:${call.step_id}:${call.attempt}:sync`,
        execution_id: call.execution_id,
        step_id: call.step_id,
        attempt: call.attempt,
        origin: node.name,
        deadline: started + call.timeout_ms,
        isolation: call.isolation,
        task: call.task,
      };
      const seconds = () => (Date.now() - started) / 1000;
      try {
        const result = await inner.run(call, signal);
        stepEnded(node, req, { type: 'wfmesh.step.reply.v1', key: req.key, ok: true, node: node.name, output: undefined }, seconds());
        return result;
      } catch (err) {
        stepEnded(node, req, { type: 'wfmesh.step.reply.v1', key: req.key, ok: false, node: node.name, failure: StepFailure.from(err).toWire() }, seconds());
        throw err;
      }
    },
  };
}
