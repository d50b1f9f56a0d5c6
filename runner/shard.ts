import { HttpRemoteCache } from '../cache/remote.ts';
import { ObjectStore } from '../cache/store.ts';
import { Slots } from './slots.ts';
import { segmentWorkersFor } from './worker-pool.ts';
import { isReingestError, ReingestError } from './errors.ts';
import type { ExecEnv } from './exec-common.ts';
import { guard } from './exec-common.ts';
import { runList } from './exec-list.ts';
import { runSegment } from './exec-segment.ts';
import { summarizeSegment } from './exec-global.ts';
import { withMirror } from './local-mirror.ts';
import { runDag } from './scheduler.ts';
import { listKeyOf, MARKER_SCHEMA, writeMarker } from './shard-markers.ts';
import { selectSegments, type ResolvedPipeline } from './spec.ts';
import type { GlobalStage } from './stage.ts';
import type { RunOptions } from './run.ts';

/**
 * Cluster execution without a scheduler of our own: shard k of N runs the segment chains at list positions
 * p with p mod N = k and publishes them into the shared cache (create-only, atomic: a killed shard leaves
 * nothing half-visible and simply reruns). `merge` is then an ordinary run in which every segment must be
 * a cache hit; it runs the whole-run steps and aggregates and gives the single-machine root.
 */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

export function parseShard(text: string | undefined, env: NodeJS.ProcessEnv): ShardSpec | undefined {
  let index: number | undefined;
  let count: number | undefined;
  if (text !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(text);
    if (!m) throw new ReingestError('REINGEST_E_USAGE', `--shard: expected K/N such as 3/7 (shard K of N, K from 0), got ${JSON.stringify(text)}`);
    index = Number(m[1]);
    count = Number(m[2]);
  } else if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_COUNT !== undefined) {
    // Slurm numbers array tasks from --array's first index; reingest's job scripts use --array=0-(N-1).
    index = Number(env.SLURM_ARRAY_TASK_ID);
    count = Number(env.SLURM_ARRAY_TASK_COUNT);
  } else if (env.JOB_COMPLETION_INDEX !== undefined && env.REINGEST_SHARDS !== undefined) {
    index = Number(env.JOB_COMPLETION_INDEX);
    count = Number(env.REINGEST_SHARDS);
  } else return undefined;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 0 || index >= count) {
    throw new ReingestError('REINGEST_E_USAGE', `shard: expected 0 <= K < N, got K=${index} N=${count}`);
  }
  return { index, count };
}

export interface ShardSummary {
  readonly shard: ShardSpec;
  readonly segments: readonly { readonly index: number; readonly path: string; readonly chainKey: string; readonly output: string; readonly cached: boolean }[];
}

/**
 * Runs shard `shard` of `base` narrowed by `segments` (the --segments text, if any). Its marker records
 * that text and the list key it gave, filed under `base`'s own list key, so `status` and `merge` find it
 * without being given the selection (runner/shard-markers.ts).
 */
export async function runShard(base: ResolvedPipeline, segments: string | undefined, shard: ShardSpec, opts: Omit<RunOptions, 'outDir'>): Promise<ShardSummary> {
  const p = segments === undefined ? base : selectSegments(base, segments);
  const store = new ObjectStore(opts.cacheDir);
  await store.init();
  return withMirror(p.mirror, async (mirror) => {
    const slots = new Slots();
    const env: ExecEnv = { store, mirror, log: opts.log, emit: opts.emit ?? (() => {}), acquire: slots.acquire, ...(opts.remoteCache ? { remote: new HttpRemoteCache(opts.remoteCache) } : {}) };
    const list = await guard('list', () => runList(env, p, opts.signal));
    const mine = list.list.segments.filter((_, position) => position % shard.count === shard.index);
    const pool = segmentWorkersFor(opts, p, mirror, mine.length, env.emit, slots);
    try {
      const done: ShardSummary['segments'][number][] = new Array(mine.length);
      const outcome = await runDag(
        mine.map((seg, i) => ({
          id: `segment:${seg.index}`,
          deps: [],
          run: async (signal) => {
            const s = pool ? await pool.run(list.list.listing.sha256, seg, signal) : await runSegment(env, p, list.list.listing.sha256, seg, signal);
            // The first whole-run step's per-segment summary (dedup's keys) is work a shard can do too,
            // so the merge only plans over summaries instead of reading every segment's records.
            const first = p.global[0];
            if (first && (first.stage as GlobalStage).summarize) await summarizeSegment(pool, env, first, 0, seg, s.chain.output.digest, signal);
            done[i] = { index: seg.index, path: seg.path, chainKey: s.chain.key, output: s.chain.output.digest, cached: s.cached };
          },
        })),
        { concurrency: opts.concurrency, signal: opts.signal },
      );
      if (outcome.status === 'aborted') throw new ReingestError('REINGEST_E_INTERRUPTED', `shard ${shard.index}/${shard.count} was interrupted; rerun it to resume`);
      if (outcome.status === 'failed') {
        const e = outcome.failures[0]!.error;
        throw isReingestError(e) ? e : Object.assign(e as Error, { task: outcome.failures[0]!.id });
      }
      // `cached` stays out of the marker: it says what the cache held before, not what the shard made.
      const made = done.map(({ cached: _, ...seg }) => seg);
      await writeMarker(store.root, listKeyOf(base), { schema: MARKER_SCHEMA, selection: { segments: segments ?? null, listKey: list.result.key }, shard, segments: made });
      return { shard, segments: done };
    } finally {
      await pool?.close();
    }
  });
}
