import { execFile } from 'node:child_process';
import type { Gpu } from '../protocol/advert.js';

/** The fields we ask nvidia-smi for, in order (the same query the H100 fixture was captured with). */
export const NVIDIA_QUERY_FIELDS = [
  'driver_version', 'pci.sub_device_id', 'name', 'pci.bus_id', 'fan.speed', 'memory.total', 'memory.used',
  'memory.free', 'utilization.gpu', 'utilization.memory', 'temperature.gpu', 'temperature.memory', 'power.draw',
  'power.limit', 'clocks.gr', 'clocks.mem',
] as const;

const FIELD = Object.fromEntries(NVIDIA_QUERY_FIELDS.map((f, i) => [f, i])) as Record<(typeof NVIDIA_QUERY_FIELDS)[number], number>;

/**
 * Parses `nvidia-smi --query-gpu=<NVIDIA_QUERY_FIELDS> --format=csv,noheader,nounits`.
 * A line with the wrong number of fields, no name or no numeric total memory is skipped: malformed
 * output means "no GPU we can vouch for", never a crash.
 */
export function parseNvidiaSmiQuery(text: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== NVIDIA_QUERY_FIELDS.length) continue;
    const name = cells[FIELD.name] ?? '';
    const total = Number(cells[FIELD['memory.total']]);
    if (!name || name.startsWith('[') || !Number.isInteger(total) || total <= 0) continue;
    const gpu: Gpu = { vendor: 'NVIDIA', model: name, vram_mib: total };
    const driver = cells[FIELD.driver_version];
    if (driver && !driver.startsWith('[')) gpu.driver = driver;
    const bus = cells[FIELD['pci.bus_id']];
    if (bus && !bus.startsWith('[')) gpu.bus_id = bus;
    gpus.push(gpu);
  }
  return gpus;
}

/**
 * Asks nvidia-smi directly (async, bounded by `timeoutMs`). No nvidia-smi (ENOENT), a failure or
 * a time-out all mean "no NVIDIA GPU" — the reason is returned for the log.
 */
export function probeNvidiaGpus(timeoutMs = 5_000, binary = 'nvidia-smi'): Promise<{ gpus: Gpu[]; note?: string }> {
  return new Promise((resolve) => {
    execFile(
      binary,
      [`--query-gpu=${NVIDIA_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
      { timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          resolve({ gpus: [], note: code === 'ENOENT' ? 'nvidia-smi not found: no NVIDIA GPU' : `nvidia-smi failed: ${err.message}` });
          return;
        }
        resolve({ gpus: parseNvidiaSmiQuery(stdout) });
      },
    );
  });
}
