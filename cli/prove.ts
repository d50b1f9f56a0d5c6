import { readFile } from 'node:fs/promises';
import { attest } from '../runner/attest.ts';
import { ObjectStore } from '../cache/store.ts';
import { narrowFirst } from '../runner/narrow.ts';
import { compareManifests, formatReport } from '../runner/compare.ts';
import { ReingestError } from '../runner/errors.ts';
import type { Manifest } from '../runner/manifest.ts';
import { verifyManifest } from '../runner/verify.ts';
import { builtinStages } from '../stages/index.ts';
import type { Logger } from 'pino';

/** `verify`, `compare` and `attest`: what a third party holding only a manifest runs. */
export interface ProveIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly signal: AbortSignal;
}

export async function readManifestFile(file: string, flag = 'manifest'): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ReingestError('REINGEST_E_MANIFEST', `${flag} ${file}: expected a manifest file, found none`, { where: file });
  }
  try {
    const m = JSON.parse(text) as Manifest;
    if (m.schema !== 'reingest-manifest/1' || !Array.isArray(m.tasks)) throw new Error('schema');
    return m;
  } catch {
    throw new ReingestError('REINGEST_E_MANIFEST', `${flag} ${file}: expected a reingest manifest (schema reingest-manifest/1), got something else; a run writes one to out/<pipeline name>/manifest.json`, { where: file });
  }
}

export async function cmdVerify(
  file: string,
  opts: { json: boolean; sample?: number; seed: string; cacheDir?: string; mirror?: string; referenceCache?: string; concurrency: number; log: Logger; toolVersion: string },
  io: ProveIo,
): Promise<number> {
  await readManifestFile(file);
  const t0 = performance.now();
  const result = await verifyManifest(file, {
    registry: builtinStages,
    concurrency: opts.concurrency,
    signal: io.signal,
    log: opts.log,
    toolVersion: opts.toolVersion,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.mirror ? { mirror: opts.mirror } : {}),
    ...(opts.referenceCache ? { referenceCache: opts.referenceCache } : {}),
    ...(opts.sample !== undefined ? { sample: { count: opts.sample, seed: opts.seed } } : {}),
  });
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
  const report = await narrowFirst(compareManifests(await readManifestFile(a), await readManifestFile(b)), stores, stores);
  io.stdout.write(json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return report.exit;
}

export async function cmdAttest(file: string, io: ProveIo): Promise<number> {
  io.stdout.write(`${JSON.stringify(attest(await readManifestFile(file)), null, 2)}\n`);
  return 0;
}
