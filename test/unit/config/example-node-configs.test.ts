/**
 * The example node configs in config/nodes/ load with the schema the node uses, compile into
 * node options, and offer tools the executor really has.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStepExecutor } from '../../../src/executor/index.js';
import { compileNodeOptions, loadNodeConfigFile, type NodeOptions } from '../../../src/node/index.js';

const folder = fileURLToPath(new URL('../../../config/nodes/', import.meta.url));
const files = readdirSync(folder).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();

function compile(file: string, env: NodeJS.ProcessEnv = {}): NodeOptions {
  return compileNodeOptions({ config: join(folder, file) }, env);
}

function offeredTools(options: NodeOptions): readonly string[] {
  const executor = createStepExecutor(
    { node_name: options.name, allow: options.allow, llm: options.llm, max_output_bytes: options.limits.maxOutputBytes },
    options.tools ? { tools: options.tools } : {},
  );
  return executor.tools;
}

describe('config/nodes examples', () => {
  test('there is a GPU node, an EU node and an edge node', () => {
    for (const name of ['gpu-node.yaml', 'eu-node.yaml', 'edge-node.yaml']) assert.ok(files.includes(name), `config/nodes/${name}`);
  });

  for (const file of files) {
    test(`${file}: valid by NodeConfigFileSchema, compiles, offers only real tools`, () => {
      const raw = loadNodeConfigFile(join(folder, file));
      const options = compile(file);
      assert.equal(options.name, raw.name);
      assert.equal(options.region, raw.region);
      assert.deepEqual(options.labels, raw.labels ?? {});
      // Each listed tool exists in the executor and is offered (shell needs its allow-list).
      assert.deepEqual([...offeredTools(options)].sort(), [...(raw.tools ?? [])].sort());
      // Relative paths resolve against the config file's folder, not the working directory.
      // No root configured: no filesystem tool, never the working directory.
      const root = raw.allow?.filesystem_root;
      assert.equal(options.allow.filesystem_root, root === undefined ? undefined : isAbsolute(root) ? root : resolve(folder, root));
    });
  }

  test('the three examples are three different nodes: names, regions, labels', () => {
    const all = ['gpu-node.yaml', 'eu-node.yaml', 'edge-node.yaml'].map((f) => compile(f));
    assert.equal(new Set(all.map((o) => o.name)).size, 3);
    assert.equal(new Set(all.map((o) => o.region)).size, 3);
    assert.equal(new Set(all.map((o) => JSON.stringify(o.labels))).size, 3);
  });

  test('gpu-node declares its H100 and serves its model through an OpenAI-compatible endpoint', () => {
    const gpu = compile('gpu-node.yaml', { VLLM_API_KEY: 'k-123' });
    assert.deepEqual(gpu.hardware.gpus, [{ vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81559 }]);
    assert.equal(gpu.llm.api_key, 'k-123', 'api_key_env names the variable that holds the key');
    assert.deepEqual(gpu.llm.models, ['meta-llama/Llama-3.1-8B-Instruct']);
    assert.equal(gpu.maxConcurrency, 4);
  });

  test('eu-node allows what it lists and nothing else', () => {
    const eu = compile('eu-node.yaml');
    assert.equal(eu.region, 'eu-west');
    assert.deepEqual(eu.allow.http_hosts, ['api.example.com', 'eu.api.example.com:8443']);
    assert.deepEqual(eu.allow.shell_commands, ['wc']);
    assert.equal(eu.http.mcp, true);
    assert.equal(eu.http.port, 4020);
  });

  test('edge-node has no MCP endpoint, small limits, and takes its HTTP port from --mcp-port', () => {
    const edge = compile('edge-node.yaml');
    assert.equal(edge.http.mcp, false);
    assert.equal(edge.heartbeatMs, 2000);
    assert.deepEqual(edge.limits, { maxInputBytes: 65536, maxOutputBytes: 262144 });
    assert.equal(compileNodeOptions({ config: join(folder, 'edge-node.yaml'), mcpPort: 4020 }, {}).http.port, 4020);
  });

  test('flags beat env, env beats the file', () => {
    const options = compileNodeOptions(
      { config: join(folder, 'eu-node.yaml'), region: 'eu-central' },
      { WFMESH_REGION: 'ignored-by-flag', NATS_URL: 'nats://nats-1:4222,nats://nats-2:4222', WFMESH_LABELS: 'tier=override' },
    );
    assert.equal(options.region, 'eu-central');
    assert.deepEqual(options.nats.servers, ['nats://nats-1:4222', 'nats://nats-2:4222']);
    assert.equal(options.labels.tier, 'override');
    assert.equal(options.labels.jurisdiction, 'eu');
  });
});
