import { join } from 'node:path';
import type { Logger } from 'pino';
import { digestHex, StreamDigest, type Digest } from '../cache/digest.ts';
import type { HttpRemoteCache } from '../cache/remote.ts';
import type { ObjectStore, ObjectWriter } from '../cache/store.ts';
import { canonicalJson } from './canonical-json.ts';
import { CounterSet } from './counters.ts';
import { isReingestError, ReingestError } from './errors.ts';
import { taskKey, type KeyPreimage } from './keys.ts';
import { decodeFrames, encodeFrame, encodeFrameParts, type DataRecord } from './record-codec.ts';
import { RecordIndex, RecordIndexBuilder } from './record-index.ts';
import type { Acquire } from './slots.ts';
import type { ResolvedStep } from './spec.ts';
import type { SegmentInput, SegmentPin, SegmentRef, StageContext } from './stage.ts';
import { declaredSizes, isRefused, parseTaskResult, storedDigests, type Edge, type TaskResult } from './task-result.ts';

/** Typed events for progress displays and NDJSON consumers. */
export type RunEvent =
  | { readonly type: 'task-start'; readonly id: string }
  | { readonly type: 'task-cached'; readonly id: string; readonly key: Digest }
  | {
      readonly type: 'task-done';
      readonly id: string;
      readonly key: Digest;
      readonly bytesIn: number;
      /** Wall milliseconds per stage of a segment chain (each stage's own share; see StreamTimer). */
      readonly stageMs?: Readonly<Record<string, number>>;
    }
  | { readonly type: 'task-failed'; readonly id: string; readonly code: string }
  | { readonly type: 'task-retry'; readonly id: string; readonly stage: string; readonly attempt: number; readonly waitMs: number; readonly reason: string }
  /** A running segment's counts so far: raw bytes streamed, records decoded, records kept by the chain. */
  | { readonly type: 'task-progress'; readonly id: string; readonly bytes: number; readonly records: number; readonly kept: number }
  /** Once the listing is known: how many tasks and segments the run has. */
  | { readonly type: 'run-plan'; readonly tasks: number; readonly segments: number };

export interface ExecEnv {
  readonly store: ObjectStore;
  readonly mirror: string;
  readonly log: Logger;
  readonly emit: (e: RunEvent) => void;
  /** Merge mode: every segment chain must already be in the cache (shards computed them). */
  readonly requireCachedSegments?: boolean;
  /** A shared HTTP cache consulted on a local miss and filled after each task (see cache/remote.ts). */
  readonly remote?: HttpRemoteCache;
  /** Run-wide named semaphores handed to stages as ctx.acquire. */
  readonly acquire?: Acquire;
}

export function stageContext<P>(env: ExecEnv, step: ResolvedStep, signal: AbortSignal, segment?: SegmentRef, pin?: SegmentPin): StageContext<P> & { counters: CounterSet } {
  const bindings = segment ? { stage: step.stage.name, segment: segment.index } : { stage: step.stage.name };
  return {
    params: step.params as P,
    signal,
    log: env.log.child(bindings),
    counters: new CounterSet(),
    mirror: env.mirror,
    workDir: join(env.store.root, 'work'),
    ...(env.acquire ? { acquire: env.acquire } : {}),
    ...(pin ? { pin } : {}),
    ...(segment ? { segment, retrying: (info) => env.emit({ type: 'task-retry', id: `segment:${segment.index}`, stage: step.stage.name, ...info }) } : {}),
  };
}

/**
 * Looks a key up in the action index. A hit counts only if every stored output still hashes to its name;
 * a corrupt one is quarantined and its action dropped, so the task reruns instead of serving bad bytes.
 */
export async function lookup(env: ExecEnv, pre: KeyPreimage, opts: { verify: boolean } = { verify: true }): Promise<{ key: Digest; hit: TaskResult | null }> {
  const key = taskKey(pre);
  let text = await env.store.readAction(digestHex(key));
  if (text === null && env.remote) text = await pullFromRemote(env, key);
  if (text === null) return { key, hit: null };
  const result = parseTaskResult(text, key);
  if (isRefused(result)) {
    env.log.warn({ key, problem: result.refused }, 'action entry refused; rerunning the task');
    await env.store.removeAction(digestHex(key));
    return { key, hit: null };
  }
  if (result.output.stored && !opts.verify) {
    return { key, hit: (await env.store.has(result.output.digest)) ? result : null };
  }
  for (const digest of storedDigests(result)) {
    const found = await env.store.rehash(digest);
    if (found !== digest) {
      if (found !== null) {
        const moved = await env.store.quarantine(digest);
        env.log.warn({ key, expected: digest, found, movedTo: moved }, 'corrupt cache object quarantined; rerunning the task');
      }
      await env.store.removeAction(digestHex(key));
      return { key, hit: null };
    }
  }
  await env.store.touch(digestHex(key), storedDigests(result));
  return { key, hit: result };
}


/**
 * A local miss asks the remote. Its entry counts only if every object it names arrives and hashes to its
 * name; then it is published locally like any other entry (and re-verified by the caller).
 */
async function pullFromRemote(env: ExecEnv, key: Digest): Promise<string | null> {
  const remote = env.remote!;
  const text = await remote.getAction(digestHex(key), env.log);
  if (text === null) return null;
  const result = parseTaskResult(text, key);
  if (isRefused(result)) {
    env.log.warn({ key, remote: remote.base.origin, problem: result.refused }, 'remote cache: action entry refused; treating as a miss');
    return null;
  }
  for (const [d, maxBytes] of declaredSizes(result)) {
    if (!(await env.store.has(d)) && !(await remote.fetchObject(d, maxBytes, env.store, env.log))) {
      env.log.warn({ key, missing: d, remote: remote.base.origin }, 'remote cache: an object of the action entry is missing or corrupt; treating as a miss');
      return null;
    }
  }
  const { created, existing } = await env.store.writeActionOnce(digestHex(key), text);
  return created ? text : (existing ?? null);
}

function accepted(r: ReturnType<typeof parseTaskResult>): TaskResult | null {
  return isRefused(r) ? null : r;
}

function conflict(taskId: string, key: Digest, where: string, other: TaskResult | null, produced: Digest): ReingestError {
  return new ReingestError(
    'REINGEST_E_NONDETERMINISTIC',
    `task ${taskId}: key ${key} already maps to output ${other?.output.digest ?? '(unreadable)'} in ${where}, this run produced ${produced}; ` +
      'a stage gave different bytes for the same inputs — report it with both action entries',
    { where: taskId },
  );
}

/** Publishes an action entry (and, with a remote, its objects then the entry). A different result for the same key is nondeterminism. */
export async function record(env: ExecEnv, result: TaskResult, taskId: string): Promise<void> {
  const text = `${canonicalJson(result)}\n`;
  const { created, existing } = await env.store.writeActionOnce(digestHex(result.key), text);
  if (!created && existing !== text) {
    const other = existing === undefined ? null : accepted(parseTaskResult(existing, result.key));
    if (!other || other.output.digest !== result.output.digest) throw conflict(taskId, result.key, 'the cache', other, result.output.digest);
  }
  if (env.remote) await pushToRemote(env, env.remote, result, text, taskId);
}

async function pushToRemote(env: ExecEnv, remote: HttpRemoteCache, result: TaskResult, text: string, taskId: string): Promise<void> {
  // Objects first: an entry must never be visible before the objects it names.
  for (const d of storedDigests(result)) if (!(await remote.putObject(d, env.store, env.log))) return;
  const put = await remote.putActionOnce(digestHex(result.key), text, env.log);
  if (!('existing' in put) || put.existing.entry === text) return;
  const other = put.existing.entry === null ? null : accepted(parseTaskResult(put.existing.entry, result.key));
  if (other?.output.digest === result.output.digest) return;
  // Only a believed entry can prove nondeterminism; anyone may write an unbelieved one, so it is only noted.
  if (!put.existing.trusted) {
    env.log.warn({ key: result.key, remote: remote.base.origin, theirs: other?.output.digest ?? null, ours: result.output.digest }, 'remote cache holds an unbelieved entry with another result for this key; ours is not published');
    return;
  }
  throw conflict(taskId, result.key, `the remote cache ${remote.base.origin}`, other, result.output.digest);
}

/**
 * Wall time spent waiting on a stream: its stage plus everything upstream. The difference between two
 * adjacent taps is the time of the stage between them (and of hashing its input edge). A run fact, never
 * part of a result: it goes to events and the run record (run-record.ts), not to action entries.
 */
export class StreamTimer {
  ms = 0;
}

/** Hashes a byte stream as it flows past. */
export async function* tapBytes(src: AsyncIterable<Uint8Array>, acc: StreamDigest, timer?: StreamTimer): AsyncGenerator<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  try {
    for (;;) {
      const t0 = performance.now();
      const r = await it.next();
      if (timer) timer.ms += performance.now() - t0;
      if (r.done) return;
      acc.update(r.value);
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

export class RecordEdge {
  /** sha256 of the frames as one stream: only for a stored edge, whose object it names. */
  readonly hash = new StreamDigest();
  records = 0;
  /** Bytes of the frames (the canonical stream's length), stored or not. */
  bytes = 0;
  readonly timer = new StreamTimer();
  readonly index = new RecordIndexBuilder();
}

/**
 * Stores what a record edge carries beside its digest — the per-record index, and the documents its stage
 * dropped when there were any — and returns those Edge fields.
 */
export async function storeEdgeObjects(env: ExecEnv, acc: RecordEdge, counters: CounterSet): Promise<{ recordsRoot: Digest; recordIndex: Digest; exclusions?: Digest }> {
  const bytes = acc.index.bytes();
  const { digest } = await env.store.putBytes(bytes);
  const exclusions = counters.excluded.length > 0 ? (await env.store.putBytes(Buffer.concat(counters.excluded.map((x) => encodeFrame({ ...x }))))).digest : undefined;
  return { recordsRoot: new RecordIndex(bytes).root(), recordIndex: digest, ...(exclusions ? { exclusions } : {}) };
}

/**
 * Benchmark-only: skip encoding and hashing the intermediate record edges (not the stored output, not the
 * raw bytes, which key the chain), to measure what edge hashing costs. The digests it records for those
 * edges are then wrong, so use it only with a throw-away cache (`npm run bench -- e2e` does).
 */
const SKIP_EDGE_HASHING = process.env.REINGEST_BENCH_SKIP_EDGE_HASHING === '1';

/**
 * Records already framed on an edge of this thread, with their frame's leaf hash and length. Filters pass
 * most documents on as the same object, so without this every text edge would encode and hash the same
 * text again. Only records whose values are all primitives are remembered, and they are frozen first: such
 * a record cannot change afterwards, so its frame cannot either (a stage that changes a document yields a
 * new object, which is framed anew). Entries go with their records.
 */
const framed = new WeakMap<DataRecord, { readonly leaf: Buffer; readonly length: number }>();

function isFlat(record: DataRecord): boolean {
  for (const k in record) {
    const v = record[k];
    if (v !== null && typeof v === 'object') return false;
  }
  return true;
}

/**
 * Hashes the canonical frames of a record stream as it flows past, one leaf hash per record (the record
 * index, whose Merkle root names an edge that is not kept); with a sink, also keeps the frames in an object
 * and hashes them as one stream, the object's name.
 */
export async function* tapRecords(src: AsyncIterable<DataRecord>, acc: RecordEdge, sink?: ObjectWriter): AsyncGenerator<DataRecord> {
  const it = src[Symbol.asyncIterator]();
  try {
    for (;;) {
      const t0 = performance.now();
      const r = await it.next();
      acc.timer.ms += performance.now() - t0;
      if (r.done) return;
      acc.records++;
      if (SKIP_EDGE_HASHING && !sink) {
        yield r.value;
        continue;
      }
      const known = framed.get(r.value);
      if (known !== undefined && !sink) {
        // The same unchangeable record on an earlier edge: same frame, so the same leaf.
        acc.bytes += known.length;
        acc.index.addLeaf(known.leaf, known.length);
        yield r.value;
        continue;
      }
      // Parts, not one frame: a record's large blocks are hashed where they are instead of copied first.
      const { parts, length } = encodeFrameParts(r.value);
      acc.bytes += length;
      const leaf = acc.index.addParts(parts, length);
      if (known === undefined && isFlat(r.value)) framed.set(Object.freeze(r.value), { leaf, length });
      if (sink) {
        for (const p of parts) acc.hash.update(p);
        await sink.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, length));
      }
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

export function edge(stage: string, digest: Digest, bytes: number, stored: boolean, extra: Partial<Pick<Edge, 'records' | 'counters' | 'recordsRoot' | 'recordIndex' | 'exclusions'>> = {}): Edge {
  return { stage, digest, bytes, stored, ...extra };
}

/** Pulls an async iterable to its end; the pull drives every fused stage upstream, with backpressure. */
export async function drain(src: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of src);
}

/** Tags an unexpected exception with the task it came from; typed failures pass through unchanged. */
export async function guard<T>(id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isReingestError(err)) throw err;
    throw Object.assign(err as Error, { task: id });
  }
}

/**
 * Stores a record stream as one object (the frames are the object) and records it as the task's single
 * output edge: the shared tail of tasks whose whole output is one stored record stream.
 */
export async function storeRecordTask(
  env: ExecEnv,
  task: {
    id: string;
    key: Digest;
    preimage: TaskResult['preimage'];
    stage: string;
    counters: CounterSet;
    /** Edges of other objects the task stored while its records streamed (read once the stream ends). */
    edgesBefore?: () => readonly Edge[];
  },
  records: AsyncIterable<DataRecord>,
  signal: AbortSignal,
): Promise<TaskResult> {
  const acc = new RecordEdge();
  const writer = await env.store.createWriter();
  try {
    await drain(tapRecords(records, acc, writer));
    signal.throwIfAborted();
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const out = edge(task.stage, acc.hash.digest(), acc.bytes, true, { records: acc.records, counters: task.counters.toJSON(), ...(await storeEdgeObjects(env, acc, task.counters)) });
  const result: TaskResult = { schema: 'reingest-action/1', key: task.key, preimage: task.preimage, edges: [...(task.edgesBefore?.() ?? []), out], output: out };
  await record(env, result, task.id);
  env.emit({ type: 'task-done', id: task.id, key: task.key, bytesIn: 0 });
  return result;
}

/** Each segment's stored records, in the order given (list order), read lazily from the store. */
export async function* segmentInputs(env: ExecEnv, inputs: readonly { segment: SegmentRef; output: Digest }[], signal: AbortSignal): AsyncGenerator<SegmentInput> {
  for (const input of inputs) yield { segment: input.segment, digest: input.output, records: decodeFrames(env.store.read(input.output, signal)) };
}
