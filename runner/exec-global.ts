import { sha256, type Digest } from '../cache/digest.ts';
import { edge, lookup, segmentInputs, stageContext, storeRecordTask, type ExecEnv } from './exec-common.ts';
import { globalApplyPreimage, globalPlanPreimage, globalSummaryPreimage, type KeyPreimage } from './keys.ts';
import { decodeFrames, encodeFrame, type DataRecord } from './record-codec.ts';
import type { ResolvedStep } from './spec.ts';
import type { GlobalStage, SegmentRef } from './stage.ts';
import type { Edge, TaskResult } from './task-result.ts';
import type { SegmentWorkers } from './worker-pool.ts';
import type { SummaryOutcome } from './worker-protocol.ts';

export interface PlanOutcome {
  readonly result: TaskResult;
  /** Each losing segment's stored drop list (frames of {ordinal, reason}), by segment index: O(segments). */
  readonly drops: ReadonlyMap<number, Digest>;
  readonly cached: boolean;
}

/**
 * The drop list of a segment the plan drops nothing from: a drop list with no frames, so the sha256 of
 * zero bytes. It is never stored (an apply has nothing to read for it); it stands in the apply's key so
 * that every apply is keyed by its own segment's drop list, losing or not.
 */
export const EMPTY_DROP_LIST: Digest = sha256(new Uint8Array(0));

/**
 * One segment's summary for a whole-run step that summarizes (GlobalStage.summarize): its own cached task,
 * keyed by the segment's current output, so a re-plan or a merge after shards reuses it.
 */
export async function runGlobalSummary(env: ExecEnv, step: ResolvedStep, g: number, segment: SegmentRef, input: Digest, signal: AbortSignal): Promise<{ result: TaskResult; cached: boolean }> {
  return perSegmentTask(env, step, `summary:${g}:${segment.index}`, globalSummaryPreimage(step, input), segment, signal, (ctx) =>
    (step.stage as GlobalStage).summarize!(decodeFrames(env.store.read(input, signal)), ctx),
  );
}

/**
 * One segment's summary on the segment workers when there are some (it then overlaps the chains still
 * running), else on this thread; `ms` is its wall time where it ran.
 */
export async function summarizeSegment(pool: SegmentWorkers | null, env: ExecEnv, step: ResolvedStep, g: number, segment: SegmentRef, input: Digest, signal: AbortSignal): Promise<SummaryOutcome> {
  if (pool) return pool.summarize(g, segment, input, signal);
  const t0 = performance.now();
  const r = await runGlobalSummary(env, step, g, segment, input, signal);
  return { ...r, ms: performance.now() - t0 };
}

/** A per-segment task of a whole-run step whose output is one stored record stream: a cache hit, or run and store it. */
async function perSegmentTask(
  env: ExecEnv,
  step: ResolvedStep,
  id: string,
  pre: KeyPreimage,
  segment: SegmentRef,
  signal: AbortSignal,
  records: (ctx: ReturnType<typeof stageContext>) => AsyncIterable<DataRecord>,
): Promise<{ result: TaskResult; cached: boolean }> {
  const look = await lookup(env, pre);
  if (look.hit) {
    env.emit({ type: 'task-cached', id, key: look.key });
    return { result: look.hit, cached: true };
  }
  env.emit({ type: 'task-start', id });
  const ctx = stageContext(env, step, signal, segment);
  const result = await storeRecordTask(env, { id, key: look.key, preimage: pre, stage: step.stage.name, counters: ctx.counters }, records(ctx), signal);
  return { result, cached: false };
}

/**
 * Runs a whole-run decision over every segment's current output (or its summary), in list order. Each
 * losing segment's drops are stored as their own object (frames of {ordinal, reason}, an edge of the task
 * named "<stage>:drops:<segment>"); the plan object lists them: {segment, drops: digest, count} per losing
 * segment, in list order. Nothing holds the whole plan: the stage streams it, one segment's drops at a time.
 */
export async function runGlobalPlan(env: ExecEnv, step: ResolvedStep, g: number, inputs: readonly { segment: SegmentRef; output: Digest }[], signal: AbortSignal): Promise<PlanOutcome> {
  const id = `global:${g}`;
  const pre = globalPlanPreimage(step, inputs.map((i) => i.output));
  const look = await lookup(env, pre);
  if (look.hit) {
    env.emit({ type: 'task-cached', id, key: look.key });
    return { result: look.hit, drops: await readPlan(env, look.hit.output.digest, signal), cached: true };
  }
  env.emit({ type: 'task-start', id });
  const ctx = stageContext(env, step, signal);
  const position = new Map(inputs.map((x, i) => [x.segment.index, i]));
  const drops = new Map<number, Digest>();
  const dropEdges: Edge[] = [];
  const name = step.stage.name;
  async function* planRecords(): AsyncGenerator<DataRecord> {
    let last = -1;
    for await (const sd of (step.stage as GlobalStage).plan(segmentInputs(env, inputs, signal), ctx)) {
      const at = position.get(sd.segment);
      // The stage's own ordering contract; a breach is a bug in the stage, not a user error.
      if (at === undefined || at <= last) throw new Error(`Internal error: stage ${name} planned segment ${sd.segment} ${at === undefined ? 'that is not an input' : 'out of list order'}`);
      last = at;
      if (sd.drops.length === 0) continue;
      const frames = sd.drops.map(([ordinal, reason], i) => {
        if (i > 0 && ordinal <= sd.drops[i - 1]![0]) throw new Error(`Internal error: stage ${name} planned drops of segment ${sd.segment} out of ordinal order`);
        return encodeFrame({ ordinal, reason });
      });
      const put = await env.store.putBytes(Buffer.concat(frames));
      drops.set(sd.segment, put.digest);
      dropEdges.push(edge(`${name}:drops:${sd.segment}`, put.digest, put.size, true, { records: sd.drops.length }));
      yield { segment: sd.segment, drops: put.digest, count: sd.drops.length };
    }
  }
  const result = await storeRecordTask(env, { id, key: look.key, preimage: pre, stage: name, counters: ctx.counters, edgesBefore: () => dropEdges }, planRecords(), signal);
  return { result, drops, cached: false };
}

/** A stored plan object's drop lists by segment index (the plan lists losing segments only). */
export async function readPlan(env: ExecEnv, d: Digest, signal: AbortSignal): Promise<Map<number, Digest>> {
  const drops = new Map<number, Digest>();
  for await (const r of decodeFrames(env.store.read(d, signal))) drops.set(r.segment as number, r.drops as Digest);
  return drops;
}

/**
 * Applies a plan to one segment: its records minus the planned drops, counted by reason. Only the
 * segment's own drop list (`plan.drops`, undefined when it loses nothing) is read or keyed: segments with
 * byte-identical records but different drops must not share a key (see globalApplyPreimage).
 */
export async function runGlobalApply(
  env: ExecEnv,
  step: ResolvedStep,
  g: number,
  segment: SegmentRef,
  input: Digest,
  plan: { readonly drops: Digest | undefined },
  signal: AbortSignal,
): Promise<{ result: TaskResult; cached: boolean }> {
  // The segment's records and its drop list are both in ordinal order: one merge-walk, O(1) memory.
  async function* kept(ctx: ReturnType<typeof stageContext>): AsyncGenerator<DataRecord> {
    const planned = plan.drops ? decodeFrames(env.store.read(plan.drops, signal))[Symbol.asyncIterator]() : null;
    let next = planned ? await planned.next() : null;
    let ordinal = 0;
    for await (const rec of decodeFrames(env.store.read(input, signal))) {
      if (next && !next.done && next.value.ordinal === ordinal) {
        ctx.counters.drop(String(next.value.reason), rec);
        next = await planned!.next();
      } else yield rec;
      ordinal++;
    }
    if (next && !next.done) throw new Error(`Internal error: the plan drops record ${String(next.value.ordinal)} of segment ${segment.index}, which has ${ordinal} records`);
  }
  return perSegmentTask(env, step, `apply:${g}:${segment.index}`, globalApplyPreimage(step, input, plan.drops ?? EMPTY_DROP_LIST), segment, signal, kept);
}
