/**
 * Can every step of a workflow run on some node of this mesh? The same hard rules the dispatcher
 * applies (src/mesh/placement.ts: tool or model offered, gpu, region, labels, node), asked of a
 * capabilities snapshot. Pure: the generator uses it in its repair loop, tests use it as an oracle.
 */
import { eligiblePeers, type PlacementNeed } from '../mesh/placement.js';
import type { Advertisement } from '../protocol/advert.js';
import type { Requires } from '../protocol/step.js';
import { allSteps, type WorkflowDocument } from '../workflow/index.js';
import type { MeshCapabilities, NodeCapabilities } from './capabilities.js';

/**
 * A capabilities entry in the shape the placement rules read. The snapshot carries no CPU or
 * memory figures, so minimums on them count as met here; the live placement still checks them.
 */
function asPeer(n: NodeCapabilities): Advertisement {
  const plenty = Number.MAX_SAFE_INTEGER;
  return {
    id: n.name,
    name: n.name,
    version: '',
    region: n.region,
    labels: n.labels,
    cpu: { cores: plenty, model: '' },
    memory: { total_mib: plenty, free_mib: plenty },
    gpus: n.gpus,
    tools: n.tools,
    models: n.models,
    mcp_url: null,
    http_url: null,
    started_at: '',
    state: 'RUNNING',
    load: { inflight: 0, max_concurrency: 1, cpu_pct: 0 },
    last_seen: '',
  };
}

/** Whether some node of `caps` meets every hard constraint of `need`. */
export function canPlace(caps: MeshCapabilities, need: PlacementNeed): boolean {
  return eligiblePeers(caps.nodes.map(asPeer), need).unmet === undefined;
}

/** A step's hard constraints: the agent's `requires`, then the step's own keys on top. */
function merged(...parts: (Requires | undefined)[]): Requires | undefined {
  const present = parts.filter((p): p is Requires => p !== undefined);
  return present.length === 0 ? undefined : (Object.assign({}, ...present) as Requires);
}

/**
 * Problems that keep a workflow from being placed on `caps`, one line per step; empty when every
 * step has at least one eligible node. Unknown agent ids are the validator's business and are
 * skipped here; loops and invoked workflows run on the coordinator, their inner steps are checked.
 */
export function checkPlaceable(document: WorkflowDocument, caps: MeshCapabilities): string[] {
  const peers = caps.nodes.map(asPeer);
  const problems: string[] = [];
  for (const wf of Object.values(document.workflows)) {
    for (const step of allSteps(wf.steps)) {
      let need: PlacementNeed;
      if (step.kind === 'agent') {
        const agent = Object.hasOwn(document.agents, step.agent) ? document.agents[step.agent] : undefined;
        if (!agent) continue;
        need = { model: agent.model, requires: merged(agent.requires, step.requires) };
      } else if (step.kind === 'tool') {
        const type = Object.hasOwn(document.tools, step.tool) ? document.tools[step.tool]!.type : step.tool;
        need = { tool_type: type, requires: step.requires };
      } else continue;
      const r = eligiblePeers(peers, need);
      if (r.unmet !== undefined) problems.push(`workflow "${wf.id}" step "${step.id}": ${r.unmet}`);
    }
  }
  return problems;
}
