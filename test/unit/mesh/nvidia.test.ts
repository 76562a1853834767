import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseNvidiaSmiQuery, probeNvidiaGpus } from '../../../src/mesh/nvidia.js';
import { applyDeclaredHardware, type Hardware } from '../../../src/mesh/probe.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/gpu-h100/${name}`, import.meta.url), 'utf8');

test('the H100 fixture parses to one GPU with its total (not free) memory', () => {
  const gpus = parseNvidiaSmiQuery(fixture('nvidia-smi-query.txt'));
  assert.equal(gpus.length, 1);
  assert.deepEqual(gpus[0], { vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81559, driver: '580.159.04', bus_id: '00000000:00:06.0' });
});

test('two GPUs on two lines give two entries', () => {
  const line = fixture('nvidia-smi-query.txt').trim();
  assert.equal(parseNvidiaSmiQuery(`${line}\n${line.replace('00:06.0', '00:07.0')}\n`).length, 2);
});

test('malformed output never crashes and yields no GPU', () => {
  const bad = [
    '',
    '\n\n',
    'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.',
    fixture('nvidia-smi.txt'),
    fixture('nvidia-smi-L.txt'),
    '580.159.04, 0x16C110DE, NVIDIA H100 80GB HBM3', // too few fields
    fixture('nvidia-smi-query.txt').replace('81559', '[N/A]'),
    fixture('nvidia-smi-query.txt').replace('81559', '-5'),
    fixture('nvidia-smi-query.txt').replace('NVIDIA H100 80GB HBM3', ''),
    '\u0000\u0001\u0002,,,,,,,,,,,,,,,',
  ];
  for (const text of bad) assert.deepEqual(parseNvidiaSmiQuery(text), [], JSON.stringify(text.slice(0, 40)));
});

test('a missing nvidia-smi (ENOENT) means no GPU, with a note', async () => {
  const r = await probeNvidiaGpus(2_000, '/nonexistent/nvidia-smi');
  assert.deepEqual(r.gpus, []);
  assert.match(r.note ?? '', /not found/);
});

test('the probe runs nvidia-smi as a child process and parses what it prints', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wfmesh-smi-'));
  const bin = join(dir, 'nvidia-smi');
  writeFileSync(join(dir, 'out.txt'), fixture('nvidia-smi-query.txt'));
  writeFileSync(bin, `#!/bin/sh\ncat "${join(dir, 'out.txt')}"\n`);
  chmodSync(bin, 0o755);
  const r = await probeNvidiaGpus(2_000, bin);
  assert.equal(r.gpus[0]?.model, 'NVIDIA H100 80GB HBM3');
  assert.equal(r.gpus[0]?.vram_mib, 81559);
});

test('a failing or hanging nvidia-smi means no GPU, not a crash or a hang', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wfmesh-smi-'));
  const failing = join(dir, 'fail');
  writeFileSync(failing, '#!/bin/sh\necho "driver error" >&2\nexit 9\n');
  chmodSync(failing, 0o755);
  assert.deepEqual((await probeNvidiaGpus(2_000, failing)).gpus, []);
  const hanging = join(dir, 'hang');
  writeFileSync(hanging, '#!/bin/sh\nsleep 30\n');
  chmodSync(hanging, 0o755);
  const r = await probeNvidiaGpus(300, hanging);
  assert.deepEqual(r.gpus, []);
  assert.match(r.note ?? '', /failed/);
});

test('declared hardware overrides the probe and is shown as declared', () => {
  const probed: Hardware = {
    cpu: { cores: 2, model: 'x' },
    memory: { total_mib: 1000 },
    os: { platform: 'linux', distro: 'd', release: 'r', arch: 'x64' },
    gpus: [],
    notes: [],
  };
  const h = applyDeclaredHardware(probed, { gpus: [{ vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81559 }], cpus: 16 });
  assert.deepEqual(h.gpus, [{ vendor: 'NVIDIA', model: 'NVIDIA H100 80GB HBM3', vram_mib: 81559, declared: true }]);
  assert.deepEqual(h.cpu, { cores: 16, model: 'x', declared: true });
  assert.deepEqual(h.memory, { total_mib: 1000 });
});
