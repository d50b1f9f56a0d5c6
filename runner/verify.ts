import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareManifests, EXIT_BITS, type CompareReport } from './compare.ts';
import { ObjectStore } from '../cache/store.ts';
import { isReingestError } from './errors.ts';
import { narrowFirst } from './narrow.ts';
import type { Manifest } from './manifest.ts';
import { runPipeline, type RunOptions } from './run.ts';
import { loadPipeline, parseMirror, selectSegments } from './spec.ts';
import type { StageRegistry } from './stage.ts';

export interface VerifyOptions extends Omit<RunOptions, 'outDir' | 'cacheDir'> {
  readonly registry: StageRegistry;
  /** Reuse this cache (its entries are then trusted); by default an empty temporary one, so everything is recomputed. */
  readonly cacheDir?: string;
  /** Rebuild only this many segment chains, chosen by sha256(seed:index): cost O(count), not O(crawl). */
  readonly sample?: { readonly count: number; readonly seed: string };
  readonly mirror?: string;
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

/** Rebuilds from the manifest alone (spec, versions, pinned inputs) and compares every edge digest. */
export async function verifyManifest(file: string, opts: VerifyOptions): Promise<VerifyResult> {
  const reference = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  let p = await loadPipeline(file, opts.registry);
  if (opts.mirror) p = { ...p, mirror: parseMirror(opts.mirror, process.cwd()) };
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
      const bit = err.code === 'REINGEST_E_PIN_MISMATCH' || err.code === 'REINGEST_E_SOURCE_CHANGED' ? EXIT_BITS.pinned : EXIT_BITS.missing;
      const report: CompareReport = { same: false, rootA: reference.root, rootB: '(not rebuilt)', compared: 0, first: null, divergences: [], exit: bit };
      return { report, segments: chosen, failure: { code: err.code, message: err.message } };
    }
    const picked = new Set(chosen);
    // A sample's list and whole-run tasks necessarily differ (they see fewer segments): compare its chains.
    const only = opts.sample ? (t: Manifest['tasks'][number]) => (t.kind === 'fetch' || t.kind === 'chain') && picked.has(t.segment!.index) : undefined;
    const cacheDir = opts.cacheDir ?? join(work, 'cache');
    const reference_ = opts.referenceCache ? [new ObjectStore(opts.referenceCache)] : [];
    const report = await narrowFirst(compareManifests(reference, rebuilt, only), reference_, [new ObjectStore(cacheDir)]);
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
