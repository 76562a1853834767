import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { StepRunner } from '../engine/index.js';
import type { PeerEvent } from '../mesh/registry.js';
import type { Advertisement } from '../protocol/advert.js';
import type { ExecutionMode, ExecutionRecord, ExecutionStatus } from '../protocol/execution.js';
import type { ExecutionStore, WorkflowStore } from '../store/index.js';

/** The mesh as the execution service needs to see it: live peers (this node included) and their changes. */
export interface PeerView {
  list(): readonly Advertisement[];
  onChange(listener: (e: PeerEvent) => void): () => void;
}

/** What the execution service is built from: narrow parts, not the whole node. */
export interface ExecutionDeps {
  /** This node. */
  readonly self: { readonly id: string; readonly name: string };
  /** Publishes events and notices, listens for cancels, leases and handovers. */
  readonly nc: NatsConnection;
  readonly peers: PeerView;
  readonly store: ExecutionStore;
  readonly workflows: WorkflowStore;
  /** Where the steps of an execution in `mode` run. */
  readonly runnerFor: (mode: ExecutionMode) => StepRunner;
  readonly log: Logger;
  readonly settings: ExecutionSettings;
  /** Told when an execution starts here and when it ends (metrics, audit). */
  readonly observer?: ExecutionObserver;
}

export interface ExecutionSettings {
  /** Largest `yaml` / `input`, in bytes. */
  readonly maxInputBytes: number;
  /** Environment variables `${env.NAME}` may read on this node. */
  readonly allowedEnv: readonly string[];
  /** How long a silent node stays in the registry: the orphan sweep waits this long too. */
  readonly deadAfterMs: number;
}

export interface ExecutionObserver {
  started(record: ExecutionRecord): void;
  finished(record: ExecutionRecord, status: ExecutionStatus): void;
}
