import type { Digest } from '../cache/digest.ts';
import type { RemoteCacheConfig } from '../cache/remote.ts';
import type { RunEvent } from './exec-common.ts';
import type { SegmentOutcome } from './exec-segment.ts';
import type { SegmentRef } from './stage.ts';
import type { TaskResult } from './task-result.ts';

/** What a segment worker needs to rebuild the chain: the registry by module, the steps as plain data. */
export interface WorkerInit {
  readonly registry: { readonly url: string; readonly exportName: string };
  readonly steps: readonly { readonly stage: string; readonly params: unknown }[];
  /** Whole-run steps that summarize per segment, by step index: their summaries run on the workers too. */
  readonly summarizers: readonly { readonly g: number; readonly stage: string; readonly params: unknown }[];
  readonly pins?: readonly [string, { readonly sha256: Digest; readonly size: number }][];
  readonly cacheDir: string;
  readonly mirror: string;
  readonly remoteCache?: RemoteCacheConfig;
  readonly logLevel: string;
}

export type ToWorker =
  | { readonly type: 'run'; readonly task: number; readonly listing: Digest; readonly segment: SegmentRef }
  | { readonly type: 'summary'; readonly task: number; readonly g: number; readonly segment: SegmentRef; readonly input: Digest }
  | { readonly type: 'abort'; readonly task: number }
  | { readonly type: 'granted'; readonly grant: number };

export interface WireError {
  readonly reingest: boolean;
  readonly code?: string;
  readonly message: string;
  readonly where?: string;
  readonly stack?: string;
}

export type FromWorker =
  | { readonly type: 'event'; readonly event: RunEvent }
  | { readonly type: 'done'; readonly task: number; readonly outcome: SegmentOutcome }
  | { readonly type: 'summarized'; readonly task: number; readonly outcome: SummaryOutcome }
  | { readonly type: 'failed'; readonly task: number; readonly error: WireError }
  | { readonly type: 'acquire'; readonly grant: number; readonly resource: string; readonly limit: number }
  | { readonly type: 'release'; readonly grant: number }
  | { readonly type: 'cancel'; readonly grant: number };

/** A whole-run step's summary of one segment, made on a worker; ms is its wall time when it ran (not cached). */
export interface SummaryOutcome {
  readonly result: TaskResult;
  readonly cached: boolean;
  readonly ms: number;
}
