import type { NatsConnection } from 'nats';
import type { MeshNode } from '../src/node/index.js';

export interface StepBenchContext {
  observer: MeshNode;
  nc: NatsConnection;
  urls: string[];
  rounds: number;
  quick: boolean;
  say: (msg: string) => void;
  /** Figures measured so far (raw NATS), for the ratios. */
  raw: Record<string, unknown>;
}

/** Step dispatch figures; filled in as the engine and dispatch land. */
export async function measureSteps(_ctx: StepBenchContext): Promise<Record<string, unknown>> {
  return {};
}
