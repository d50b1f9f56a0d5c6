import { Worker } from 'node:worker_threads';
import type { Digest } from '../cache/digest.ts';
import type { RemoteCacheConfig } from '../cache/remote.ts';
import { isErrorCode, ReingestError } from './errors.ts';
import type { RunEvent } from './exec-common.ts';
import type { SegmentOutcome } from './exec-segment.ts';
import type { Slots } from './slots.ts';
import type { ResolvedPipeline } from './spec.ts';
import type { GlobalStage, SegmentRef } from './stage.ts';
import type { FromWorker, SummaryOutcome, ToWorker, WireError, WorkerInit } from './worker-protocol.ts';

interface Job {
  readonly task: number;
  /** The request for the worker: a segment chain, or a whole-run step's summary of one segment. */
  readonly request: Extract<ToWorker, { type: 'run' | 'summary' }>;
  /** The run's task id, named on failures. */
  readonly id: string;
  readonly signal: AbortSignal;
  readonly resolve: (o: never) => void;
  readonly reject: (e: unknown) => void;
}

/** A job on a worker, and how to drop what it added to the run: one per busy worker, never one per job run. */
interface Running {
  readonly job: Job;
  readonly detach: () => void;
}

interface Slot {
  readonly worker: Worker;
  running: Running | null;
  /** Grants this worker holds or waits for: release fns, or the controller of a pending acquire. */
  readonly grants: Map<number, { release?: () => void; pending?: AbortController }>;
}

/**
 * Segment chains on worker threads, one chain per worker at a time, so CPU-bound stages (extraction,
 * language ID, tokenisation) use every core. Outcomes are plain data, so results do not depend on which
 * thread ran what. The main thread grants run-wide slots (HTTP streams) and forwards events.
 */
export class SegmentWorkers {
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  readonly #emit: (e: RunEvent) => void;
  readonly #shared: Slots;
  #nextTask = 0;
  #closed = false;

  constructor(count: number, init: WorkerInit, emit: (e: RunEvent) => void, shared: Slots) {
    this.#emit = emit;
    this.#shared = shared;
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: init });
      const slot: Slot = { worker, running: null, grants: new Map() };
      worker.on('message', (m: FromWorker) => this.#onMessage(slot, m));
      worker.on('error', (err) => this.#lost(slot, err));
      worker.on('exit', (code) => {
        if (!this.#closed) this.#lost(slot, new Error(`segment worker exited with code ${code}`));
      });
      this.#slots.push(slot);
    }
  }

  run(listing: Digest, segment: SegmentRef, signal: AbortSignal): Promise<SegmentOutcome> {
    const task = this.#nextTask++;
    return this.#enqueue({ type: 'run', task, listing, segment }, `segment:${segment.index}`, signal);
  }

  /** Whole-run step g's summary of one segment (its records at `input`), on a worker: cached or made there. */
  summarize(g: number, segment: SegmentRef, input: Digest, signal: AbortSignal): Promise<SummaryOutcome> {
    const task = this.#nextTask++;
    return this.#enqueue({ type: 'summary', task, g, segment, input }, `summary:${g}:${segment.index}`, signal);
  }

  #enqueue<T>(request: Job['request'], id: string, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ task: request.task, request, id, signal, resolve: resolve as (o: never) => void, reject });
      this.#pump();
    });
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.running || this.#queue.length === 0) continue;
      const job = this.#queue.shift()!;
      if (job.signal.aborted) {
        job.reject(job.signal.reason);
        continue;
      }
      this.#start(slot, job);
    }
  }

  #start(slot: Slot, job: Job): void {
    const onAbort = () => this.#send(slot, { type: 'abort', task: job.task });
    // The signal is the whole run's: a listener left behind per job piles up over every segment.
    job.signal.addEventListener('abort', onAbort, { once: true });
    slot.running = { job, detach: () => job.signal.removeEventListener('abort', onAbort) };
    this.#send(slot, job.request);
  }

  /** Frees the slot; its job, if any, is the caller's to settle. */
  #end(slot: Slot): Job | null {
    const running = slot.running;
    slot.running = null;
    running?.detach();
    return running?.job ?? null;
  }

  #send(slot: Slot, m: ToWorker): void {
    slot.worker.postMessage(m);
  }

  #onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case 'event':
        this.#emit(m.event);
        return;
      case 'acquire': {
        const pending = new AbortController();
        slot.grants.set(m.grant, { pending });
        this.#shared.acquire(m.resource, m.limit, pending.signal).then(
          (release) => {
            slot.grants.set(m.grant, { release });
            this.#send(slot, { type: 'granted', grant: m.grant });
          },
          () => slot.grants.delete(m.grant),
        );
        return;
      }
      case 'release':
      case 'cancel': {
        const g = slot.grants.get(m.grant);
        slot.grants.delete(m.grant);
        g?.release?.();
        g?.pending?.abort();
        return;
      }
      case 'done':
      case 'summarized':
      case 'failed': {
        const job = this.#end(slot);
        if (job && job.task === m.task) {
          if (m.type === 'failed') job.reject(revive(m.error, job.id));
          else job.resolve(m.outcome as never);
        }
        this.#pump();
        return;
      }
    }
  }

  #lost(slot: Slot, err: Error): void {
    for (const g of slot.grants.values()) {
      g.release?.();
      g.pending?.abort();
    }
    slot.grants.clear();
    const job = this.#end(slot);
    job?.reject(Object.assign(err, { task: job.id }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('segment workers closed'));
    for (const slot of this.#slots) this.#end(slot)?.reject(new Error('segment workers closed'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}

/** A worker's failure as this thread's error: typed errors stay typed; bugs keep their stack. */
function revive(e: WireError, task: string): Error {
  if (e.reingest && isErrorCode(e.code)) return new ReingestError(e.code, e.message, e.where ? { where: e.where } : {});
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return Object.assign(err, { task });
}

/**
 * Workers for a pipeline's segment chain when the run asked for them and has more than one segment to
 * spread (one worker per segment at most); null means run the chains on this thread. Run and shard runs share it.
 */
export function segmentWorkersFor(
  opts: {
    readonly workers?: { readonly count: number; readonly registry: WorkerInit['registry'] } | undefined;
    readonly cacheDir: string;
    readonly remoteCache?: RemoteCacheConfig | undefined;
    readonly log: { readonly level: string };
  },
  p: Pick<ResolvedPipeline, 'segment' | 'global' | 'pins'>,
  mirror: string,
  segments: number,
  emit: (e: RunEvent) => void,
  shared: Slots,
): SegmentWorkers | null {
  if (!opts.workers || opts.workers.count <= 0 || segments <= 1) return null;
  const init: WorkerInit = {
    registry: opts.workers.registry,
    steps: p.segment.map((s) => ({ stage: s.stage.name, params: s.params })),
    summarizers: p.global.flatMap((s, g) => ((s.stage as GlobalStage).summarize ? [{ g, stage: s.stage.name, params: s.params }] : [])),
    ...(p.pins ? { pins: [...p.pins] } : {}),
    cacheDir: opts.cacheDir,
    mirror,
    ...(opts.remoteCache ? { remoteCache: opts.remoteCache } : {}),
    logLevel: opts.log.level,
  };
  return new SegmentWorkers(Math.min(opts.workers.count, segments), init, emit, shared);
}
