import type { Digest } from '../cache/digest.ts';
import { lookup, segmentInputs, stageContext, storeRecordTask, type ExecEnv } from './exec-common.ts';
import { globalApplyPreimage, globalPlanPreimage, globalSummaryPreimage } from './keys.ts';
import { decodeFrames, type DataRecord } from './record-codec.ts';
import type { ResolvedStep } from './spec.ts';
import type { GlobalPlan, GlobalStage, SegmentRef } from './stage.ts';
import type { TaskResult } from './task-result.ts';

export interface PlanOutcome {
  readonly result: TaskResult;
  readonly plan: GlobalPlan;
  readonly cached: boolean;
}

/**
 * One segment's summary for a whole-run step that summarizes (GlobalStage.summarize): its own cached task,
 * keyed by the segment's current output, so a re-plan or a merge after shards reuses it.
 */
export async function runGlobalSummary(env: ExecEnv, step: ResolvedStep, g: number, segment: SegmentRef, input: Digest, signal: AbortSignal): Promise<{ result: TaskResult; cached: boolean }> {
  const id = `summary:${g}:${segment.index}`;
  const pre = globalSummaryPreimage(step, input);
  const look = await lookup(env, pre);
  if (look.hit) {
    env.emit({ type: 'task-cached', id, key: look.key });
    return { result: look.hit, cached: true };
  }
  env.emit({ type: 'task-start', id });
  const ctx = stageContext(env, step, signal, segment);
  const summaries = (step.stage as GlobalStage).summarize!(decodeFrames(env.store.read(input, signal)), ctx);
  const result = await storeRecordTask(env, { id, key: look.key, preimage: pre, stage: step.stage.name, counters: ctx.counters }, summaries, signal);
  return { result, cached: false };
}

/**
 * Runs a whole-run decision over every segment's current output (or its summary), in list order, and stores it as
 * canonical records — one per segment that loses records: {segment, drops: [[ordinal, reason], ...]}.
 */
export async function runGlobalPlan(env: ExecEnv, step: ResolvedStep, g: number, inputs: readonly { segment: SegmentRef; output: Digest }[], signal: AbortSignal): Promise<PlanOutcome> {
  const id = `global:${g}`;
  const pre = globalPlanPreimage(step, inputs.map((i) => i.output));
  const look = await lookup(env, pre);
  if (look.hit) {
    env.emit({ type: 'task-cached', id, key: look.key });
    return { result: look.hit, plan: await readPlan(env, look.hit.output.digest, signal), cached: true };
  }
  env.emit({ type: 'task-start', id });
  const ctx = stageContext(env, step, signal);
  const plan = await (step.stage as GlobalStage).plan(segmentInputs(env, inputs, signal), ctx);
  async function* planRecords(): AsyncGenerator<DataRecord> {
    for (const { segment } of inputs) {
      const drops = plan.get(segment.index);
      if (!drops || drops.size === 0) continue;
      yield { segment: segment.index, drops: [...drops].sort((a, b) => a[0] - b[0]).map(([ordinal, reason]) => [ordinal, reason]) };
    }
  }
  const result = await storeRecordTask(env, { id, key: look.key, preimage: pre, stage: step.stage.name, counters: ctx.counters }, planRecords(), signal);
  return { result, plan, cached: false };
}

async function readPlan(env: ExecEnv, d: Digest, signal: AbortSignal): Promise<GlobalPlan> {
  const plan = new Map<number, Map<number, string>>();
  for await (const r of decodeFrames(env.store.read(d, signal))) {
    plan.set(r.segment as number, new Map((r.drops as [number, string][]).map(([o, reason]) => [o, reason])));
  }
  return plan;
}

/** Applies a plan to one segment: its records minus the planned drops, counted by reason. */
export async function runGlobalApply(
  env: ExecEnv,
  step: ResolvedStep,
  g: number,
  segment: SegmentRef,
  input: Digest,
  plan: { digest: Digest; drops: ReadonlyMap<number, string> | undefined },
  signal: AbortSignal,
): Promise<{ result: TaskResult; cached: boolean }> {
  const id = `apply:${g}:${segment.index}`;
  const pre = globalApplyPreimage(step, input, plan.digest);
  const look = await lookup(env, pre);
  if (look.hit) {
    env.emit({ type: 'task-cached', id, key: look.key });
    return { result: look.hit, cached: true };
  }
  env.emit({ type: 'task-start', id });
  const ctx = stageContext(env, step, signal, segment);
  async function* kept(): AsyncGenerator<DataRecord> {
    let ordinal = 0;
    for await (const rec of decodeFrames(env.store.read(input, signal))) {
      const reason = plan.drops?.get(ordinal++);
      if (reason === undefined) yield rec;
      else ctx.counters.drop(reason, rec);
    }
  }
  const result = await storeRecordTask(env, { id, key: look.key, preimage: pre, stage: step.stage.name, counters: ctx.counters }, kept(), signal);
  return { result, cached: false };
}
