export { MeshNode } from './mesh-node.js';
export { startNode, stepRunners } from './start-node.js';
export { compileNodeOptions, compileNatsSettings, parseLabels, DEFAULT_MCP_PORT, DEFAULT_NATS_URL, type NodeFlags, type NodeOptions } from './options.js';
export { loadNodeConfigFile, parseNodeConfig, NodeConfigFileSchema, type NodeConfigFile } from './config.js';
export { NodeMetrics, serveMetrics, PROMETHEUS_CONTENT_TYPE, STEP_SECONDS_BUCKETS } from './metrics.js';
export { auditLog, type AuditEvent } from './audit.js';
export { releaseStartupMemory } from './memory.js';
