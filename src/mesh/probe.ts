import si from 'systeminformation';
import type { Gpu } from '../protocol/advert.js';
import { probeNvidiaGpus } from './nvidia.js';

export { LiveLoadSampler } from './load-sampler.js';

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

/** The machine does not change while we run: one probe per process (and nvidia-smi path), shared by every node in it. */
const probes = new Map<string, Promise<Hardware>>();

/** Probes CPU, memory and OS with systeminformation and GPUs with nvidia-smi, then applies declarations. */
export async function probeHardware(declared: DeclaredHardware = {}, opts: { nvidiaSmi?: string } = {}): Promise<Hardware> {
  const key = opts.nvidiaSmi ?? 'nvidia-smi';
  let probe = probes.get(key);
  if (!probe) {
    probe = probeMachine(opts.nvidiaSmi);
    probes.set(key, probe);
    probe.catch(() => probes.delete(key)); // a failed probe is tried again by the next node
  }
  return applyDeclaredHardware(await probe, declared);
}

async function probeMachine(nvidiaSmi: string | undefined): Promise<Hardware> {
  const [cpu, mem, os, nvidia] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), probeNvidiaGpus(5_000, nvidiaSmi)]);
  return {
    cpu: { cores: cpu.cores, model: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || 'unknown' },
    memory: { total_mib: Math.round(mem.total / MIB) },
    os: { platform: os.platform, distro: os.distro, release: os.release, arch: os.arch },
    gpus: nvidia.gpus,
    notes: nvidia.note ? [nvidia.note] : [],
  };
}

/** Declared values replace probed ones and carry `declared: true`. Pure. */
export function applyDeclaredHardware(probed: Hardware, declared: DeclaredHardware): Hardware {
  const out: Hardware = { ...probed, notes: [...probed.notes] };
  if (declared.gpus) out.gpus = declared.gpus.map((g) => ({ ...g, declared: true }));
  if (declared.cpus !== undefined) out.cpu = { ...probed.cpu, cores: declared.cpus, declared: true };
  if (declared.memory_mib !== undefined) out.memory = { total_mib: declared.memory_mib, declared: true };
  return out;
}
