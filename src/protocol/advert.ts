import { z } from 'zod';

export const GpuSchema = z.object({
  vendor: z.string(),
  model: z.string(),
  vram_mib: z.number().int().nonnegative(),
  /** Present and true when the operator declared it rather than the probe finding it. */
  declared: z.boolean().optional(),
  driver: z.string().optional(),
  bus_id: z.string().optional(),
});
export type Gpu = z.infer<typeof GpuSchema>;

export const NodeStateSchema = z.enum(['STARTING', 'RUNNING', 'DRAINING', 'STOPPED']);
export type NodeState = z.infer<typeof NodeStateSchema>;

export const LoadSchema = z.object({
  inflight: z.number().int().nonnegative(),
  max_concurrency: z.number().int().positive(),
  cpu_pct: z.number().nonnegative(),
});
export type Load = z.infer<typeof LoadSchema>;

/** What a node can do and never changes while it runs: carried in its micro service metadata. */
export const NodeCapabilitiesSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  region: z.string(),
  labels: z.record(z.string(), z.string()),
  cpu: z.object({ cores: z.number().int().nonnegative(), model: z.string(), declared: z.boolean().optional() }),
  memory: z.object({ total_mib: z.number().int().nonnegative(), declared: z.boolean().optional() }),
  os: z.object({ platform: z.string(), distro: z.string(), release: z.string(), arch: z.string() }).optional(),
  gpus: z.array(GpuSchema),
  tools: z.array(z.string()),
  models: z.array(z.string()),
  mcp_url: z.string().nullable(),
  http_url: z.string().nullable(),
  started_at: z.string(),
  /**
   * True when this node can read the NATS servers' connection lists and so may watch them for the
   * mesh (src/mesh/connection-watch.ts); absent from nodes that cannot, and from older versions.
   */
  watches_connections: z.boolean().optional(),
  /** True when this node takes step requests joined into one message (protocol/step-batch.ts); absent from older versions. */
  takes_step_batches: z.boolean().optional(),
});
export type NodeCapabilities = z.infer<typeof NodeCapabilitiesSchema>;

/** A node as `wfmesh nodes --json` and MCP `mesh_status` show it (DESIGN.md section 3). */
export const AdvertisementSchema = NodeCapabilitiesSchema.omit({ memory: true }).extend({
  memory: z.object({ total_mib: z.number().int().nonnegative(), free_mib: z.number().int().nonnegative(), declared: z.boolean().optional() }),
  state: NodeStateSchema,
  /** Last known load: from this node's probes of it and the steps sent to it (load is never broadcast). */
  load: LoadSchema,
  /** When this node last heard from it directly (probe answer, step reply) or about it (its announcement). */
  last_seen: z.string(),
  /** Its membership incarnation: raised each time it refutes a suspicion or rejoins. */
  incarnation: z.number().int().nonnegative().optional(),
});
export type Advertisement = z.infer<typeof AdvertisementSchema>;

/** Key of the micro service metadata entry that carries the JSON capabilities. */
export const CAPABILITIES_METADATA_KEY = 'wfmesh_capabilities';

/** The parts of a `$SRV.INFO` answer we read. */
export const ServiceInfoSchema = z.object({
  type: z.literal('io.nats.micro.v1.info_response'),
  name: z.string(),
  id: z.string(),
  version: z.string(),
  metadata: z.record(z.string(), z.string()).nullish(),
});
export type ServiceInfoMessage = z.infer<typeof ServiceInfoSchema>;

/** A micro service instance's answer to `$SRV.PING.wfmesh`: the cheapest way to hear every node. */
export const ServicePingSchema = ServiceInfoSchema.omit({ type: true }).extend({
  type: z.literal('io.nats.micro.v1.ping_response'),
});

/** Asks a node for one page of its view, optionally filtered. An empty request is the first page, unfiltered. */
export const ViewRequestSchema = z.object({
  type: z.literal('wfmesh.view.request.v1'),
  /** The `next_cursor` of the previous page. */
  cursor: z.string().max(512).optional(),
  limit: z.number().int().positive().max(2_000).optional(),
  region: z.string().max(256).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  /** Only ids and incarnations (`members_ids`): what a node compares before it asks for capabilities. */
  ids_only: z.boolean().optional(),
  /** Only these nodes, in full (a node asking for the members it lacks). */
  ids: z.array(z.string()).max(500).optional(),
});
export type ViewRequest = z.infer<typeof ViewRequestSchema>;

/** A node's answer on its `view` endpoints: one page of the mesh as that node sees it, sorted by name. */
export const MeshViewSchema = z.object({
  type: z.literal('wfmesh.view.v1'),
  node: z.string(),
  /** The answering node's id: the next pages are asked of it (`subjects.view(node, node_id)`). */
  node_id: z.string().optional(),
  nodes: z.array(AdvertisementSchema),
  /** Ask again with it for the next page; absent on the last page. */
  next_cursor: z.string().optional(),
  /** Nodes that match the filter, on every page. */
  total: z.number().int().nonnegative().optional(),
  /** Every live node the answering node knows (unfiltered). */
  members: z.number().int().nonnegative().optional(),
  /** With `ids_only`: this page's nodes as id and incarnation. */
  members_ids: z.array(z.object({ id: z.string(), incarnation: z.number().int().nonnegative() })).optional(),
});
export type MeshView = z.infer<typeof MeshViewSchema>;
