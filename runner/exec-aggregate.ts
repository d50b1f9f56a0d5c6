import type { Digest } from '../cache/digest.ts';
import { edge, lookup, record, stageContext, type ExecEnv } from './exec-common.ts';
import { aggregatePreimage } from './keys.ts';
import { decodeFrames } from './record-codec.ts';
import type { ResolvedStep } from './spec.ts';
import type { AggregateStage, SegmentInput, SegmentRef } from './stage.ts';
import type { TaskResult } from './task-result.ts';

export interface AggregateOutcome {
  readonly result: TaskResult;
  readonly cached: boolean;
}

/** An aggregate reads every segment's stored records in list order and writes one output object. */
export async function runAggregate(
  env: ExecEnv,
  step: ResolvedStep,
  index: number,
  inputs: readonly { segment: SegmentRef; output: Digest }[],
  signal: AbortSignal,
): Promise<AggregateOutcome> {
  const id = `aggregate:${index}`;
  const pre = aggregatePreimage(step, inputs.map((i) => i.output));
  const look = await lookup(env, pre);
  if (look.hit) {
    env.emit({ type: 'task-cached', id, key: look.key });
    return { result: look.hit, cached: true };
  }
  env.emit({ type: 'task-start', id });
  const ctx = stageContext(env, step, signal);
  async function* segmentInputs(): AsyncGenerator<SegmentInput> {
    for (const input of inputs) yield { segment: input.segment, records: decodeFrames(env.store.read(input.output, signal)) };
  }
  const writer = await env.store.createWriter();
  let stored: { digest: Digest; size: number };
  try {
    for await (const chunk of (step.stage as AggregateStage).run(segmentInputs(), ctx)) await writer.write(chunk);
    signal.throwIfAborted();
    stored = await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const out = edge(step.stage.name, stored.digest, stored.size, true, { counters: ctx.counters.toJSON() });
  const result: TaskResult = { schema: 'reingest-action/1', key: look.key, preimage: pre, edges: [out], output: out };
  await record(env, result, id);
  env.emit({ type: 'task-done', id, key: look.key, bytesIn: 0 });
  return { result, cached: false };
}
