import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareManifests, EXIT_BITS, type CompareReport } from './compare.ts';
import { ObjectStore } from '../cache/store.ts';
import { isReingestError } from './errors.ts';
import { narrowFirst } from './narrow.ts';
import type { Manifest, ManifestTask } from './manifest.ts';
import { runPipeline, type RunOptions } from './run.ts';
import { selectSegments, type ResolvedPipeline } from './spec.ts';

export interface VerifyOptions extends Omit<RunOptions, 'outDir' | 'cacheDir'> {
  /** Reuse this cache (its entries are then trusted); by default an empty temporary one, so everything is recomputed. */
  readonly cacheDir?: string;
  /** Rebuild only this many segment chains, chosen by sha256(seed:index): cost O(count), not O(crawl). */
  readonly sample?: { readonly count: number; readonly seed: string };
  /** The publisher's cache (or a copy): its per-record indexes narrow a divergence down to the record. */
  readonly referenceCache?: string;
}

export interface VerifyResult {
  readonly report: CompareReport;
  /** Segments rebuilt (list positions). */
  readonly segments: readonly number[];
  /** A typed failure of the rebuild itself (a pinned source that moved, an unreachable input). */
  readonly failure?: { readonly code: string; readonly message: string };
}

/**
 * Rebuilds from the manifest alone (`pipeline` is the manifest loaded for a rerun, its mirror chosen by
 * the caller): spec, versions, pinned inputs; then compares every committed field.
 */
export async function verifyManifest(reference: Manifest, pipeline: ResolvedPipeline, opts: VerifyOptions): Promise<VerifyResult> {
  let p = pipeline;
  const all = reference.inputs.segments.map((s) => s.index);
  const chosen = opts.sample ? sampleIndexes(all, opts.sample.count, opts.sample.seed) : all;
  if (opts.sample) p = selectSegments(p, chosen.join(','));
  const work = await mkdtemp(join(tmpdir(), 'reingest-verify-'));
  try {
    let rebuilt: Manifest;
    try {
      rebuilt = (await runPipeline(p, { ...opts, cacheDir: opts.cacheDir ?? join(work, 'cache'), outDir: join(work, 'out') })).manifest;
    } catch (err) {
      if (!isReingestError(err) || err.code === 'REINGEST_E_INTERRUPTED') throw err;
      const bit = err.code === 'REINGEST_E_PIN_MISMATCH' || err.code === 'REINGEST_E_SOURCE_CHANGED' ? EXIT_BITS.source : EXIT_BITS.missing;
      const report: CompareReport = { same: false, rootA: reference.root, rootB: '(not rebuilt)', compared: 0, first: null, divergences: [], exit: bit };
      return { report, segments: chosen, failure: { code: err.code, message: err.message } };
    }
    const picked = new Set(chosen);
    // A sample's list and whole-run tasks necessarily differ (they see fewer segments): compare its chains.
    const scope = opts.sample ? { task: (t: ManifestTask) => (t.kind === 'fetch' || t.kind === 'chain') && picked.has(t.segment!.index), segment: (i: number) => picked.has(i) } : undefined;
    const cacheDir = opts.cacheDir ?? join(work, 'cache');
    const reference_ = opts.referenceCache ? [new ObjectStore(opts.referenceCache)] : [];
    const report = await narrowFirst(compareManifests(reference, rebuilt, scope), reference_, [new ObjectStore(cacheDir)]);
    return { report, segments: chosen };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function sampleIndexes(all: readonly number[], count: number, seed: string): number[] {
  const rank = (i: number) => createHash('sha256').update(`reingest/verify/${seed}:${i}`).digest('hex');
  return [...all]
    .sort((x, y) => (rank(x) < rank(y) ? -1 : rank(x) > rank(y) ? 1 : 0))
    .slice(0, count)
    .sort((x, y) => x - y);
}
