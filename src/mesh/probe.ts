import si from 'systeminformation';
import type { Gpu } from '../protocol/advert.js';
import { probeNvidiaGpus } from './nvidia.js';

/** Hardware the operator declares (config `hardware`): it overrides the probe and is shown as declared. */
export interface DeclaredHardware {
  gpus?: Gpu[];
  cpus?: number;
  memory_mib?: number;
}

export interface Hardware {
  cpu: { cores: number; model: string; declared?: boolean };
  memory: { total_mib: number; declared?: boolean };
  os: { platform: string; distro: string; release: string; arch: string };
  gpus: Gpu[];
  notes: string[];
}

const MIB = 1024 * 1024;

/** Probes CPU, memory and OS with systeminformation and GPUs with nvidia-smi, then applies declarations. */
export async function probeHardware(declared: DeclaredHardware = {}, opts: { nvidiaSmi?: string } = {}): Promise<Hardware> {
  const [cpu, mem, os, nvidia] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), probeNvidiaGpus(5_000, opts.nvidiaSmi)]);
  return applyDeclaredHardware(
    {
      cpu: { cores: cpu.cores, model: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || 'unknown' },
      memory: { total_mib: Math.round(mem.total / MIB) },
      os: { platform: os.platform, distro: os.distro, release: os.release, arch: os.arch },
      gpus: nvidia.gpus,
      notes: nvidia.note ? [nvidia.note] : [],
    },
    declared,
  );
}

/** Declared values replace probed ones and carry `declared: true`. Pure. */
export function applyDeclaredHardware(probed: Hardware, declared: DeclaredHardware): Hardware {
  const out: Hardware = { ...probed, notes: [...probed.notes] };
  if (declared.gpus) out.gpus = declared.gpus.map((g) => ({ ...g, declared: true }));
  if (declared.cpus !== undefined) out.cpu = { ...probed.cpu, cores: declared.cpus, declared: true };
  if (declared.memory_mib !== undefined) out.memory = { total_mib: declared.memory_mib, declared: true };
  return out;
}

/**
 * Live figures (CPU %, free memory) refreshed in the background, so that heartbeats and placement
 * read a number and never wait on a probe. `si.currentLoad()` is slow on its first call: prime it.
 */
export class LiveLoadSampler {
  cpuPct = 0;
  freeMib = 0;
  private timer: NodeJS.Timeout | undefined;

  static async create(intervalMs: number): Promise<LiveLoadSampler> {
    const sampler = new LiveLoadSampler();
    await sampler.sample();
    sampler.timer = setInterval(() => void sampler.sample(), intervalMs);
    sampler.timer.unref();
    return sampler;
  }

  private async sample(): Promise<void> {
    try {
      const [load, mem] = await Promise.all([si.currentLoad(), si.mem()]);
      this.cpuPct = Math.round(load.currentLoad * 10) / 10;
      this.freeMib = Math.round(mem.available / MIB);
    } catch {
      /* keep the last figures: a failed sample must not stop the node */
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
