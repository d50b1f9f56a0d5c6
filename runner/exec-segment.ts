import { StreamDigest, type Digest } from '../cache/digest.ts';
import { ReingestError, RestartSegment } from './errors.ts';
import { drain, edge, lookup, record, RecordEdge, StreamTimer, stageContext, storeEdgeObjects, tapBytes, tapRecords, type ExecEnv } from './exec-common.ts';
import { chainPreimage, fetchPreimage, taskKey } from './keys.ts';
import { capAtPin } from './pin-cap.ts';
import type { DataRecord } from './record-codec.ts';
import type { ResolvedPipeline } from './spec.ts';
import type { DecodeStage, FetchStage, SegmentRef, TransformStage } from './stage.ts';
import type { Edge, TaskResult } from './task-result.ts';

const PROGRESS_EVERY = 4 * 1024 * 1024;

/** How often a segment may restart because its source changed mid-stream before the run fails. */
const MAX_RESTARTS = 3;

export interface SegmentOutcome {
  readonly segment: SegmentRef;
  readonly fetch: TaskResult;
  readonly chain: TaskResult;
  readonly cached: boolean;
}

/**
 * One segment: a fetch task (fixed output: the raw bytes' digest, not stored) and the fused chain
 * decode -> transforms, keyed by the raw digest. When both are in the action index nothing is fetched.
 * Otherwise the segment is streamed once through every stage; each boundary is hashed as it flows and
 * only the chain's final records are kept.
 */
export async function runSegment(env: ExecEnv, p: Pick<ResolvedPipeline, 'segment' | 'pins'>, listing: Digest, segment: SegmentRef, signal: AbortSignal): Promise<SegmentOutcome> {
  const [fetchStep, decodeStep, ...transformSteps] = p.segment;
  if (!fetchStep || !decodeStep) throw new Error('Internal error: a segment chain needs fetch and decode steps');
  const id = `segment:${segment.index}`;
  const fetchPre = fetchPreimage(fetchStep, listing, segment.path);
  const chainPre = (raw: Digest) => chainPreimage([decodeStep, ...transformSteps], raw);

  const pin = p.pins?.get(segment.path);
  const checkPin = (got: Digest, bytes: number) => {
    if (pin && pin.sha256 !== got) {
      throw new ReingestError(
        'REINGEST_E_PIN_MISMATCH',
        `segment ${segment.path}: the manifest pins ${pin.sha256} (${pin.size} bytes), the bytes fetched hash to ${got} (${bytes} bytes); the source moved upstream or the mirror serves another file`,
        { where: segment.path },
      );
    }
  };
  const fetchLook = await lookup(env, fetchPre);
  if (fetchLook.hit) checkPin(fetchLook.hit.output.digest, fetchLook.hit.output.bytes);
  if (fetchLook.hit) {
    const chainLook = await lookup(env, chainPre(fetchLook.hit.output.digest));
    if (chainLook.hit) {
      env.emit({ type: 'task-cached', id, key: chainLook.key });
      return { segment, fetch: fetchLook.hit, chain: chainLook.hit, cached: true };
    }
  }

  if (env.requireCachedSegments) {
    throw new ReingestError(
      'REINGEST_E_SHARD_MISSING',
      `merge: segment ${segment.index} (${segment.path}) is not in the cache; the shard that owns it has not finished — run it (reingest status shows which), then merge again`,
      { where: segment.path },
    );
  }
  env.emit({ type: 'task-start', id });
  const streamOnce = async (): Promise<SegmentOutcome> => {
    const fetchCtx = stageContext(env, fetchStep, signal, segment, pin);
    const decodeCtx = stageContext(env, decodeStep, signal, segment);
    const transformCtxs = transformSteps.map((s) => stageContext(env, s, signal, segment));

    const raw = new StreamDigest();
    const fetchTimer = new StreamTimer();
    const recordEdges: RecordEdge[] = [new RecordEdge()];
    // Progress for displays: every 4 MiB of raw bytes, the counts so far (events only, never hashed).
    let nextReport = PROGRESS_EVERY;
    const progress = async function* (src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      for await (const chunk of src) {
        yield chunk;
        if (raw.bytes >= nextReport) {
          nextReport = raw.bytes + PROGRESS_EVERY;
          env.emit({ type: 'task-progress', id, bytes: raw.bytes, records: recordEdges[0]!.records, kept: recordEdges.at(-1)!.records });
        }
      }
    };
    const fetched = capAtPin((fetchStep.stage as FetchStage).open(segment, fetchCtx), pin, segment.path, fetchStep.stage.name);
    const rawStream = progress(tapBytes(fetched, raw, fetchTimer));
    const writer = await env.store.createWriter();
    let stream: AsyncIterable<DataRecord> = (decodeStep.stage as DecodeStage).run(rawStream, decodeCtx);
    const lastIndex = transformSteps.length;
    stream = tapRecords(stream, recordEdges[0]!, lastIndex === 0 ? writer : undefined);
    transformSteps.forEach((step, i) => {
      const acc = new RecordEdge();
      recordEdges.push(acc);
      stream = tapRecords((step.stage as TransformStage).run(stream, transformCtxs[i]!), acc, i + 1 === lastIndex ? writer : undefined);
    });

    let committed: { digest: Digest; size: number };
    let rawDigest: Digest;
    try {
      await drain(stream);
      signal.throwIfAborted();
      rawDigest = raw.digest();
      checkPin(rawDigest, raw.bytes);
      if (fetchLook.hit && fetchLook.hit.output.digest !== rawDigest) {
        throw new ReingestError(
          'REINGEST_E_SOURCE_CHANGED',
          `segment ${segment.path}: an earlier fetch recorded ${fetchLook.hit.output.digest} (${fetchLook.hit.output.bytes} bytes), this fetch gave ${rawDigest} (${raw.bytes} bytes); ` +
            'the source moved or the mirror serves another file — check the mirror, or clear the cache entry to accept the new bytes',
          { where: segment.path },
        );
      }
      committed = await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }

    const fetchResult: TaskResult = fetchLook.hit ?? {
      schema: 'reingest-action/1',
      key: fetchLook.key,
      preimage: fetchPre,
      edges: [edge(fetchStep.stage.name, rawDigest, raw.bytes, false, { counters: fetchCtx.counters.toJSON() })],
      output: edge(fetchStep.stage.name, rawDigest, raw.bytes, false),
    };
    if (!fetchLook.hit) await record(env, fetchResult, id);

    const ctxs = [decodeCtx, ...transformCtxs];
    const steps = [decodeStep, ...transformSteps];
    const edges: Edge[] = [];
    for (const [i, acc] of recordEdges.entries()) {
      const stored = i === recordEdges.length - 1;
      const objects = await storeEdgeObjects(env, acc, ctxs[i]!.counters);
      // An edge that is not kept is named by its Merkle root: it commits to the same frames, and a second
      // pass hashing them as one stream was the largest single cost of edge hashing (the raw records edge).
      const digest = stored ? acc.hash.digest() : objects.recordsRoot;
      edges.push(edge(steps[i]!.stage.name, digest, acc.bytes, stored, { records: acc.records, counters: ctxs[i]!.counters.toJSON(), ...objects }));
    }
    const output = edges[edges.length - 1]!;
    if (output.digest !== committed.digest) throw new Error(`Internal error: segment ${segment.index} output edge ${output.digest} != stored ${committed.digest}`);
    const chainPre2 = chainPre(rawDigest);
    const chainResult: TaskResult = { schema: 'reingest-action/1', key: taskKey(chainPre2), preimage: chainPre2, edges, output };
    await record(env, chainResult, id);
    // Each stage's own time: the wait at its output tap minus the wait at its input tap.
    const stageMs: Record<string, number> = { [fetchStep.stage.name]: Math.round(fetchTimer.ms) };
    recordEdges.forEach((acc, i) => {
      const upstream = i === 0 ? fetchTimer.ms : recordEdges[i - 1]!.timer.ms;
      stageMs[steps[i]!.stage.name] = (stageMs[steps[i]!.stage.name] ?? 0) + Math.max(0, Math.round(acc.timer.ms - upstream));
    });
    env.emit({ type: 'task-done', id, key: chainResult.key, bytesIn: raw.bytes, stageMs });
    return { segment, fetch: fetchResult, chain: chainResult, cached: false };
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await streamOnce();
    } catch (err) {
      // The source changed under us: what went downstream belongs to the old bytes, so start over.
      if (!(err instanceof RestartSegment) || attempt >= MAX_RESTARTS || signal.aborted) throw err;
      env.log.warn({ segment: segment.path, attempt, reason: err.message }, 'restarting segment');
    }
  }
}
