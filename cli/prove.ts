import { attest } from '../runner/attest.ts';
import { ObjectStore } from '../cache/store.ts';
import { narrowFirst } from '../runner/narrow.ts';
import { compareManifests, EXIT_BITS, exitMeaning, formatReport } from '../runner/compare.ts';
import { isReingestError } from '../runner/errors.ts';
import type { Manifest } from '../runner/manifest.ts';
import { readManifestFile } from '../runner/manifest-read.ts';
import { lastWorkingRun, readRunRecords, type RunRecord } from '../runner/run-record.ts';
import { verifyManifest } from '../runner/verify.ts';
import type { ResolvedPipeline } from '../runner/spec.ts';
import type { Logger } from 'pino';
import { writtenDigests } from './written-digests.ts';

/** `verify`, `compare` and `attest`: what a third party holding only a manifest runs. */
export interface ProveIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly signal: AbortSignal;
}

/**
 * verify and compare report a manifest that cannot be read, or whose fields its root does not commit to,
 * as an exit bit of their own (docs/verify.md), not as a divergence of the data.
 */
async function manifestOrBit<T>(io: ProveIo, json: boolean, read: () => Promise<T>): Promise<T | number> {
  try {
    return await read();
  } catch (err) {
    if (!isReingestError(err)) throw err;
    const bit = err.code === 'REINGEST_E_MANIFEST_TAMPERED' ? EXIT_BITS.tampered : err.code === 'REINGEST_E_MANIFEST_UNREADABLE' || err.code === 'REINGEST_E_MANIFEST' ? EXIT_BITS.unreadable : null;
    if (bit === null) throw err;
    io.stdout.write(json ? `${JSON.stringify({ same: false, exit: bit, failure: { code: err.code, message: err.message } })}\n` : `${err.code}: ${err.message}\nexit ${bit} (${exitMeaning(bit)})\n`);
    return bit;
  }
}

export async function cmdVerify(
  file: string,
  load: () => Promise<ResolvedPipeline>,
  opts: { json: boolean; sample?: number; seed: string; cacheDir?: string; referenceCache?: string; concurrency: number; log: Logger; toolVersion: string },
  io: ProveIo,
): Promise<number> {
  const t0 = performance.now();
  const result = await manifestOrBit(io, opts.json, async () => verifyManifest(await readManifestFile(file), await load(), {
    concurrency: opts.concurrency,
    signal: io.signal,
    log: opts.log,
    toolVersion: opts.toolVersion,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.referenceCache ? { referenceCache: opts.referenceCache } : {}),
    ...(opts.sample !== undefined ? { sample: { count: opts.sample, seed: opts.seed } } : {}),
  }));
  if (typeof result === 'number') return result;
  const seconds = (performance.now() - t0) / 1000;
  if (opts.json) io.stdout.write(`${JSON.stringify({ ...result.report, segments: result.segments, seconds: Number(seconds.toFixed(3)), ...(result.failure ? { failure: result.failure } : {}) })}\n`);
  else {
    io.stdout.write(`rebuilt ${result.segments.length} segment(s) in ${seconds.toFixed(1)} s\n`);
    if (result.failure) io.stdout.write(`the rebuild failed: ${result.failure.code}: ${result.failure.message}\nexit ${result.report.exit}\n`);
    else io.stdout.write(formatReport(result.report));
  }
  return result.report.exit;
}

/** Compares two manifests; with caches that hold their per-record indexes, names the first differing record. */
export async function cmdCompare(a: string, b: string, json: boolean, io: ProveIo, caches: readonly string[] = []): Promise<number> {
  const stores = caches.map((c) => new ObjectStore(c));
  const both = await manifestOrBit(io, json, async () => [await readManifestFile(a), await readManifestFile(b)] as const);
  if (typeof both === 'number') return both;
  const report = await narrowFirst(compareManifests(both[0], both[1]), stores, stores);
  io.stdout.write(json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return report.exit;
}

/** The newest run record of this manifest in the cache, if this machine made it. */
export async function runOf(m: Manifest, cacheDir: string): Promise<RunRecord | undefined> {
  return lastWorkingRun(await readRunRecords(new ObjectStore(cacheDir), m.root));
}

/** `outDir` holds the files the manifest lists (the folder of manifest.json unless --out says otherwise). */
export async function cmdAttest(file: string, io: ProveIo, dirs: { cache: string; out: string }, toolVersion: string): Promise<number> {
  const m = await readManifestFile(file);
  const written = await writtenDigests(m, dirs.out, io.signal);
  io.stdout.write(`${JSON.stringify(attest(m, await runOf(m, dirs.cache), toolVersion, written), null, 2)}\n`);
  return 0;
}
