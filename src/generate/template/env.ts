/**
 * What a template may use on this mesh, decided once from the capabilities, the intent and the
 * caller's hints: the model for agent steps (or none), the tool types, and placement for a GPU
 * step and for region-pinned steps. Anything asked for that the mesh cannot honour becomes a note
 * in the YAML header instead of a step that could never be placed.
 */
import type { Requires } from '../../protocol/step.js';
import { offeredRegions, offeredTools, type MeshCapabilities, type NodeCapabilities } from '../capabilities.js';
import type { Complexity } from '../types.js';
import { REGION_WORDS, type Intent } from './intent.js';

export interface TemplateEnv {
  complexity: Complexity;
  caps: MeshCapabilities;
  /** Model for agent steps; undefined when no node offers one (tool-only workflows). */
  model?: string;
  tools: ReadonlySet<string>;
  /** Placement of the GPU inference step, with the model a GPU node serves. */
  gpu?: { model: string; requires: Requires };
  /** Regions the data steps are pinned to. */
  regions?: string[];
  notes: string[];
}

/** The models of these nodes, most widely offered first, then by name. */
function rankModels(nodes: readonly NodeCapabilities[]): string[] {
  const count = new Map<string, number>();
  for (const n of nodes) for (const m of n.models) count.set(m, (count.get(m) ?? 0) + 1);
  return [...count.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([m]) => m);
}

function wantedRegions(intent: Intent, description: string, caps: MeshCapabilities): { asked: string[]; matched: string[] } {
  const regions = offeredRegions(caps);
  const asked: string[] = [];
  const matched = new Set<string>();
  for (const w of intent.regionWords) {
    if (regions.includes(w)) {
      asked.push(w);
      matched.add(w);
      continue;
    }
    const prefixes = REGION_WORDS[w];
    if (!prefixes) continue;
    // "us" is also a pronoun: only the capitalised "US" counts.
    if (w === 'us' && !/\bU\.?S\.?\b/.test(description)) continue;
    asked.push(w);
    for (const r of regions) if (prefixes.some((p) => r === p || r.startsWith(`${p}-`))) matched.add(r);
  }
  return { asked, matched: [...matched].sort() };
}

export function resolveEnv(
  intent: Intent,
  description: string,
  caps: MeshCapabilities,
  complexity: Complexity,
  hints: { agents?: string[] },
): TemplateEnv {
  const notes: string[] = [];
  const tools = new Set(offeredTools(caps));
  // A guessed command line is too risky: templates never write shell steps, and say so.
  tools.delete('shell');
  if (intent.wantsShell) {
    notes.push('asked for a shell command: templates never write shell steps; add one by hand for a node that allow-lists the command');
  }

  const { asked, matched } = wantedRegions(intent, description, caps);
  let regions: string[] | undefined;
  if (asked.length > 0 && matched.length === 0) {
    notes.push(`asked for region ${asked.join('/')}, but no node is there: the steps are NOT pinned to a region`);
  } else if (matched.length > 0) {
    regions = matched;
    notes.push(`data steps are pinned to region ${matched.join(' or ')} (requires.region)`);
  }

  const inRegion = (n: NodeCapabilities): boolean => !regions || regions.includes(n.region);
  const hinted = (models: string[]): string | undefined =>
    hints.agents?.find((a) => models.includes(a)) ?? models[0];
  // Prefer a model the pinned region serves, so the agent steps can be pinned too.
  const model = hinted(rankModels(caps.nodes.filter(inRegion))) ?? hinted(rankModels(caps.nodes));
  if (!model) {
    notes.push('no node offers a model, so this workflow has no agent (LLM) steps: it gathers and shapes data with tools only');
  }

  let gpu: TemplateEnv['gpu'];
  if (intent.wantsGpu) {
    const gpuNodes = caps.nodes.filter((n) => n.gpus.length > 0 && n.models.length > 0);
    const pinned = gpuNodes.filter(inRegion);
    const pick = (pinned.length > 0 ? pinned : gpuNodes)[0];
    if (pick) {
      const vendor = pick.gpus[0]!.vendor;
      gpu = { model: hinted(rankModels([pick]))!, requires: { gpu: { vendor } } };
      notes.push(`the inference step needs a ${vendor} GPU (node ${pick.name} has one and serves its model)`);
    } else if (caps.nodes.some((n) => n.gpus.length > 0)) {
      notes.push('asked for GPU work, but no GPU node serves a model: no step requires a GPU');
    } else {
      notes.push('asked for GPU work, but no node has a GPU: no step requires a GPU');
    }
  }
  return { complexity, caps, ...(model && { model }), tools, ...(gpu && { gpu }), ...(regions && { regions }), notes };
}
