/** What a node advertises, for tests of membership and placement that need a peer or two. */
import type { NodeCapabilities } from '../../src/protocol/advert.js';

/** A small EU node named `n-<id>` offering echo; `extra` overrides any field. */
export function testCapabilities(id: string, extra: Partial<NodeCapabilities> = {}): NodeCapabilities {
  return {
    id,
    name: `n-${id}`,
    version: '0.1.0',
    region: 'eu-west',
    labels: {},
    cpu: { cores: 4, model: 'cpu' },
    memory: { total_mib: 1024 },
    gpus: [],
    tools: ['echo'],
    models: [],
    mcp_url: null,
    http_url: null,
    started_at: new Date(0).toISOString(),
    ...extra,
  };
}
