import type { Digest } from '../cache/digest.ts';
import { ReingestError } from './errors.ts';
import { describeSplit, listKeyOf, readSplits, type Split } from './shard-markers.ts';
import { selectSegments, type ResolvedPipeline } from './spec.ts';

/** The flags `status` and `merge` were given; either may be left out to take what the markers say. */
export interface SplitFlags {
  readonly segments?: string | undefined;
  readonly shards?: number | undefined;
}

export interface ChosenSplit {
  /** The pipeline narrowed as its shards ran (as the flags say when no shard has finished yet). */
  readonly pipeline: ResolvedPipeline;
  readonly segments: string | null;
  /** Undefined when no marker and no --shards say it (or, for merge, markers of several counts). */
  readonly count: number | undefined;
  readonly done: readonly number[];
}

/**
 * The split `status` or `merge` works on: the one the shard markers of this pipeline record, narrowed by
 * the flags given. A flag no marker agrees with is refused, saying what the shards ran with; so is a choice
 * between several splits. With no marker at all the flags are taken as they are (no shard finished yet).
 * `merge` needs the selection only: one selection under several shard counts is one choice for it.
 */
export async function chooseSplit(command: 'status' | 'merge', base: ResolvedPipeline, flags: SplitFlags, cacheDir: string): Promise<ChosenSplit> {
  const given = flags.segments === undefined ? undefined : selectSegments(base, flags.segments);
  const splits = await readSplits(cacheDir, listKeyOf(base));
  if (splits.length === 0) return { pipeline: given ?? base, segments: flags.segments ?? null, count: flags.shards, done: [] };
  const givenKey = given && listKeyOf(given);
  const fits = splits.filter((s) => (givenKey === undefined || s.listKey === givenKey) && (flags.shards === undefined || s.count === flags.shards));
  const choices = command === 'merge' ? bySelection(fits) : fits;
  if (choices.length === 1) return chosen(base, choices[0]!, cacheDir);
  const ran = splits.map((s) => describeSplit(s)).join('; ');
  if (choices.length === 0) {
    const got = [flags.segments === undefined ? '' : `--segments ${JSON.stringify(flags.segments)}`, flags.shards === undefined ? '' : `--shards ${flags.shards}`].filter(Boolean).join(' ');
    throw new ReingestError('REINGEST_E_USAGE', `${command}: expected the flags the shards in ${cacheDir} ran with (${ran}), got ${got}; pass theirs, or leave --segments and --shards out to use them`, { where: cacheDir });
  }
  throw new ReingestError('REINGEST_E_USAGE', `${command}: the shards in ${cacheDir} ran as ${choices.length} different splits of this pipeline (${choices.map((s) => describeSplit(s)).join('; ')}); pass --segments${command === 'status' ? ' and --shards' : ''} to pick one`, { where: cacheDir });
}

/** One entry per selection; the count only when every split of that selection has the same one. */
function bySelection(splits: readonly Split[]): (Omit<Split, 'count'> & { count: number | undefined })[] {
  const seen = new Map<Digest, Omit<Split, 'count'> & { count: number | undefined }>();
  for (const s of splits) {
    const had = seen.get(s.listKey);
    seen.set(s.listKey, had ? { ...had, count: had.count === s.count ? s.count : undefined } : s);
  }
  return [...seen.values()];
}

function chosen(base: ResolvedPipeline, s: Omit<Split, 'count'> & { count: number | undefined }, cacheDir: string): ChosenSplit {
  const pipeline = s.segments === null ? base : selectSegments(base, s.segments);
  // The marker's folder is named by the list key it ran with; a selection that reads otherwise today
  // (another reingest's syntax, an edited marker) would merge other segments than the shards made.
  if (listKeyOf(pipeline) !== s.listKey) {
    throw new ReingestError('REINGEST_E_CACHE_CORRUPT', `shard markers in ${cacheDir}: ${describeSplit({ segments: s.segments })} gives list key ${listKeyOf(pipeline)}, but the markers are filed under ${s.listKey}; rerun the shards with this reingest (their segments are cache hits)`, { where: cacheDir });
  }
  return { pipeline, segments: s.segments, count: s.count, done: s.done };
}
