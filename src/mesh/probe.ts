import { readFile } from 'node:fs/promises';
import { arch, cpus, platform, release, totalmem, type as osType } from 'node:os';
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

/** Probes CPU, memory and OS from node:os and /etc/os-release, and GPUs with nvidia-smi, then applies declarations. */
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

// node:os rather than systeminformation: the same figures without ~4 MiB of resident code in
// every node and the child processes it starts to find them.
async function probeMachine(nvidiaSmi: string | undefined): Promise<Hardware> {
  const [osRelease, nvidia] = await Promise.all([readFile('/etc/os-release', 'utf8').catch(() => ''), probeNvidiaGpus(5_000, nvidiaSmi)]);
  const distro = parseOsRelease(osRelease);
  const cores = cpus();
  return {
    cpu: { cores: cores.length, model: cores[0]?.model.trim() || 'unknown' },
    memory: { total_mib: Math.round(totalmem() / MIB) },
    os: { platform: platform(), distro: distro.name ?? osType(), release: distro.version ?? release(), arch: arch() },
    gpus: nvidia.gpus,
    notes: nvidia.note ? [nvidia.note] : [],
  };
}

/** NAME and VERSION_ID of an os-release file (quotes removed); absent keys stay undefined. Pure. */
export function parseOsRelease(text: string): { name?: string; version?: string } {
  const get = (key: string) => {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
    return m ? m[1]!.trim().replace(/^(["'])(.*)\1$/, '$2') : undefined;
  };
  const name = get('NAME');
  const version = get('VERSION_ID');
  return { ...(name ? { name } : {}), ...(version ? { version } : {}) };
}

/** Declared values replace probed ones and carry `declared: true`. Pure. */
export function applyDeclaredHardware(probed: Hardware, declared: DeclaredHardware): Hardware {
  const out: Hardware = { ...probed, notes: [...probed.notes] };
  if (declared.gpus) out.gpus = declared.gpus.map((g) => ({ ...g, declared: true }));
  if (declared.cpus !== undefined) out.cpu = { ...probed.cpu, cores: declared.cpus, declared: true };
  if (declared.memory_mib !== undefined) out.memory = { total_mib: declared.memory_mib, declared: true };
  return out;
}
