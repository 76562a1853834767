// Capabilities the generate tests share: the 3-node mesh of the property test, and variants.
import type { MeshCapabilities } from '../../../src/generate/index.js';

/** One GPU node in us-east, one EU node in eu-west, one plain node; models on the first two. */
export function threeNodeMesh(): MeshCapabilities {
  return {
    nodes: [
      {
        name: 'gpu-1',
        region: 'us-east',
        labels: { tier: 'gpu' },
        tools: ['transform', 'echo', 'filesystem'],
        models: ['llama3.1:8b'],
        gpus: [{ vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81559 }],
      },
      {
        name: 'eu-1',
        region: 'eu-west',
        labels: {},
        tools: ['filesystem', 'http', 'transform', 'echo'],
        models: ['gpt-4o-mini'],
        gpus: [],
      },
      { name: 'plain-1', region: 'us-west', labels: {}, tools: ['transform', 'echo', 'sleep', 'http'], models: [], gpus: [] },
    ],
  };
}

/** The same mesh with no model anywhere: templates must be tool-only. */
export function threeNodeMeshWithoutModels(): MeshCapabilities {
  const caps = threeNodeMesh();
  for (const n of caps.nodes) n.models = [];
  return caps;
}
