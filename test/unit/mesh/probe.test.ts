import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOsRelease, probeHardware } from '../../../src/mesh/probe.js';

test('os-release gives the distro name and version, quoted or not', () => {
  assert.deepEqual(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'), { name: 'Debian GNU/Linux', version: '12' });
  assert.deepEqual(parseOsRelease("NAME=Alpine Linux\nVERSION_ID='3.20.1'\n"), { name: 'Alpine Linux', version: '3.20.1' });
  assert.deepEqual(parseOsRelease(''), {});
});

test('the hardware probe describes this machine, and declarations override it', async () => {
  const hw = await probeHardware({}, { nvidiaSmi: '/nonexistent/nvidia-smi' });
  assert.ok(hw.cpu.cores >= 1);
  assert.ok(hw.cpu.model.length > 0);
  assert.ok(hw.memory.total_mib > 0);
  assert.equal(hw.os.platform, process.platform);
  assert.equal(hw.os.arch, process.arch);
  assert.ok(hw.os.distro.length > 0 && hw.os.release.length > 0);
  const declared = await probeHardware({ cpus: 64, memory_mib: 1024 }, { nvidiaSmi: '/nonexistent/nvidia-smi' });
  assert.deepEqual(declared.cpu, { ...hw.cpu, cores: 64, declared: true });
  assert.deepEqual(declared.memory, { total_mib: 1024, declared: true });
});
