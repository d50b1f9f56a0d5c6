import { isDigest, type Digest } from '../cache/digest.ts';
import { ReingestError } from './errors.ts';
import { edge, lookup, record, segmentInputs, stageContext, type ExecEnv } from './exec-common.ts';
import { aggregatePreimage } from './keys.ts';
import { filesIndexBytes, type FilesIndex, type FilesIndexEntry } from './files-index.ts';
import type { ResolvedStep } from './spec.ts';
import type { AggregateStage, FilesStage, OutputFile, SegmentInput, SegmentRef, StageContext } from './stage.ts';
import type { Edge, TaskResult } from './task-result.ts';

export interface AggregateOutcome {
  readonly result: TaskResult;
  readonly cached: boolean;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * An aggregate reads every segment's stored records in list order and writes one output object, or, for a
 * `files` stage, one object per file plus an index object (canonical JSON) that names them; the index is
 * the task's output, so the root covers every file.
 */
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
  const stage = step.stage as AggregateStage | FilesStage;
  const { out, files } =
    stage.kind === 'files'
      ? await storeFiles(env, stage, segmentInputs(env, inputs, signal), ctx, signal)
      : { out: await storeOne(env, stage.name, stage.run(segmentInputs(env, inputs, signal), ctx), signal), files: [] };
  const output = { ...out, counters: ctx.counters.toJSON() };
  const result: TaskResult = { schema: 'reingest-action/1', key: look.key, preimage: pre, edges: [...files, output], output };
  await record(env, result, id);
  env.emit({ type: 'task-done', id, key: look.key, bytesIn: 0 });
  return { result, cached: false };
}

async function storeOne(env: ExecEnv, stage: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal: AbortSignal): Promise<Edge> {
  const writer = await env.store.createWriter();
  try {
    for await (const chunk of chunks) await writer.write(chunk);
    signal.throwIfAborted();
    const stored = await writer.commit();
    return edge(stage, stored.digest, stored.size, true);
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

async function storeFiles(
  env: ExecEnv,
  stage: FilesStage,
  inputs: AsyncIterable<SegmentInput>,
  ctx: StageContext<unknown>,
  signal: AbortSignal,
): Promise<{ out: Edge; files: Edge[] }> {
  const entries: FilesIndexEntry[] = [];
  const files: Edge[] = [];
  const seen = new Set<string>();
  for await (const file of stage.run(inputs, ctx) as AsyncIterable<OutputFile>) {
    if (!FILE_NAME.test(file.name) || seen.has(file.name)) {
      // A stage bug, not a user error: names come from the stage's own code.
      throw new Error(`stage ${stage.name} produced ${seen.has(file.name) ? 'a second file' : 'an invalid file name'} ${JSON.stringify(file.name)}`);
    }
    seen.add(file.name);
    const e = await storeOne(env, `${stage.name}:${file.name}`, file.chunks, signal);
    files.push(e);
    entries.push({ name: file.name, digest: e.digest, size: e.bytes, ...(file.compress ? { compress: file.compress } : {}), facts: file.facts?.() ?? {} });
  }
  const out = await storeOne(env, stage.name, [filesIndexBytes(entries)], signal);
  return { out, files };
}

/**
 * Reads a multi-file output's index back from the store. The object came from a cache that may be shared
 * or remote: its bytes match their name, but its names become paths under --out, so each is checked.
 */
export async function readFilesIndex(env: Pick<ExecEnv, 'store'>, digest: Digest, signal: AbortSignal): Promise<FilesIndex> {
  const index = JSON.parse((await env.store.readAll(digest, signal)).toString('utf8')) as FilesIndex;
  const files = Array.isArray(index?.files) ? index.files : null;
  const bad = files === null ? 'no files array' : files.find((f) => typeof f?.name !== 'string' || !FILE_NAME.test(f.name) || !isDigest(f.digest) || !Number.isSafeInteger(f.size));
  if (index?.schema !== 'reingest-files/1' || bad) {
    throw new ReingestError('REINGEST_E_CACHE_CORRUPT', `files index ${digest}: expected {schema: "reingest-files/1", files: [{name, digest, size}]} with plain file names, got ${JSON.stringify(bad ?? index?.schema).slice(0, 200)}; run \`reingest cache verify\` or use a fresh --cache`, { where: digest });
  }
  return index;
}
