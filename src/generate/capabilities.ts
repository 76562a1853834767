/**
 * What the mesh offers, as the generator sees it: enough to write a workflow that can be placed
 * (DESIGN.md section 6). The node fills it from the live peer registry; offline, the default below.
 */
import { BUILTIN_TOOL_TYPES } from '../workflow/index.js';

export interface GpuCapability {
  vendor: string;
  model: string;
  vram_mib: number;
}

export interface NodeCapabilities {
  name: string;
  region: string;
  labels: Record<string, string>;
  /** Tool types the node offers (`filesystem`, `http`, ...). */
  tools: string[];
  /** Models its agent steps can call. */
  models: string[];
  gpus: GpuCapability[];
}

export interface MeshCapabilities {
  nodes: NodeCapabilities[];
}

/**
 * The mesh assumed when the generator runs with no live mesh: one local node with every built-in
 * tool a node offers by default (shell is off unless a node allow-lists commands), no GPU, no model.
 */
export function defaultCapabilities(): MeshCapabilities {
  return {
    nodes: [
      {
        name: 'local',
        region: 'local',
        labels: {},
        tools: BUILTIN_TOOL_TYPES.filter((t) => t !== 'shell'),
        models: [],
        gpus: [],
      },
    ],
  };
}

/** Union of one field over every node, sorted, without duplicates. */
function union(caps: MeshCapabilities, pick: (n: NodeCapabilities) => readonly string[]): string[] {
  return [...new Set(caps.nodes.flatMap((n) => pick(n)))].sort();
}

export const offeredTools = (caps: MeshCapabilities): string[] => union(caps, (n) => n.tools);
export const offeredModels = (caps: MeshCapabilities): string[] => union(caps, (n) => n.models);
export const offeredRegions = (caps: MeshCapabilities): string[] => union(caps, (n) => [n.region]);

export function offersTool(caps: MeshCapabilities, type: string): boolean {
  return caps.nodes.some((n) => n.tools.includes(type));
}

/** A one-paragraph, human- and model-readable summary of every node (used in the LLM prompt). */
export function describeCapabilities(caps: MeshCapabilities): string {
  if (caps.nodes.length === 0) return '(no live nodes)';
  return caps.nodes
    .map((n) => {
      const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`);
      const gpus = n.gpus.map((g) => `${g.vendor} ${g.model} (${g.vram_mib} MiB)`);
      return [
        `- node "${n.name}" region=${n.region}`,
        `  tools: ${n.tools.join(', ') || '(none)'}`,
        `  models: ${n.models.join(', ') || '(none)'}`,
        `  gpus: ${gpus.join('; ') || '(none)'}`,
        `  labels: ${labels.join(', ') || '(none)'}`,
      ].join('\n');
    })
    .join('\n');
}
