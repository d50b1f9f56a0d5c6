import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../cache/atomic-write.ts';
import { digestHex, type Digest } from '../cache/digest.ts';
import { canonicalJson } from './canonical-json.ts';
import { ReingestError } from './errors.ts';
import { listPreimage, taskKey } from './keys.ts';
import type { ResolvedPipeline } from './spec.ts';

/**
 * What `run --shard K/N` leaves in the cache once its segments are published, so `status` and `merge`
 * know the split without being told. The layout is shards/<base>/<list>/<N>/<K>.json: <base> is the hex
 * of the list key the pipeline has without --segments (so a pipeline finds its splits whatever they
 * selected), <list> the hex of the list key the shard ran with (the selection is part of it), <N> the
 * shard count. A marker is canonical JSON of what the command and the listing determine (no time, host
 * or cache state), so rerunning a shard rewrites the same bytes. Markers are not key material.
 */
export const MARKER_SCHEMA = 'reingest-shard/1';

export interface ShardMarker {
  readonly schema: typeof MARKER_SCHEMA;
  /** The --segments text the shard ran with (null: the pipeline's own selection) and the list key it gave. */
  readonly selection: { readonly segments: string | null; readonly listKey: Digest };
  readonly shard: { readonly index: number; readonly count: number };
  readonly segments: readonly { readonly index: number; readonly path: string; readonly chainKey: string; readonly output: string }[];
}

/** One split found in the cache: the selection and shard count it ran with, and which shards are done. */
export interface Split {
  readonly segments: string | null;
  readonly listKey: Digest;
  readonly count: number;
  readonly done: readonly number[];
}

/** The list key a pipeline's source gives: a pure function of the step, no listing is fetched. */
export function listKeyOf(p: ResolvedPipeline): Digest {
  return taskKey(listPreimage(p.source));
}

function splitDir(cacheDir: string, base: Digest, listKey: Digest, count: number): string {
  return join(cacheDir, 'shards', digestHex(base), digestHex(listKey), String(count));
}

export async function writeMarker(cacheDir: string, base: Digest, m: ShardMarker): Promise<void> {
  const file = join(splitDir(cacheDir, base, m.selection.listKey, m.shard.count), `${m.shard.index}.json`);
  // The temp file goes to the cache's tmp/, so a killed shard leaves nothing `cache gc` does not clean.
  await writeFileAtomic(file, `${canonicalJson(m)}\n`, { tmpDir: join(cacheDir, 'tmp') });
}

async function names(dir: string, pattern: RegExp): Promise<string[]> {
  const all = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return all.filter((n) => pattern.test(n)).sort();
}

/** Every split of the pipeline whose un-narrowed list key is `base`, in a stable order. */
export async function readSplits(cacheDir: string, base: Digest): Promise<Split[]> {
  const splits: Split[] = [];
  for (const listHex of await names(join(cacheDir, 'shards', digestHex(base)), /^[0-9a-f]{64}$/)) {
    const counts = (await names(join(cacheDir, 'shards', digestHex(base), listHex), /^[1-9]\d*$/)).map(Number).sort((a, b) => a - b);
    for (const count of counts) {
      const dir = splitDir(cacheDir, base, `sha256:${listHex}`, count);
      const done = (await names(dir, /^\d+\.json$/)).map((n) => Number(n.slice(0, -'.json'.length))).filter((k) => k < count).sort((a, b) => a - b);
      if (done.length === 0) continue;
      const m = await readMarker(join(dir, `${done[0]}.json`));
      splits.push({ segments: m.selection.segments, listKey: `sha256:${listHex}`, count, done });
    }
  }
  return splits;
}

async function readMarker(file: string): Promise<ShardMarker> {
  let m: Partial<ShardMarker> | undefined;
  try {
    m = JSON.parse(await readFile(file, 'utf8')) as Partial<ShardMarker>;
  } catch {
    m = undefined;
  }
  const segments = m?.selection?.segments;
  if (m?.schema !== MARKER_SCHEMA || !(segments === null || typeof segments === 'string')) {
    throw new ReingestError('REINGEST_E_CACHE_CORRUPT', `shard marker ${file}: expected a ${MARKER_SCHEMA} marker recording selection.segments, got something else; delete it and rerun that shard (its segments are cache hits)`, { where: file });
  }
  return m as ShardMarker;
}

/** How a split is named to a user: the flags its shards ran with. */
export function describeSplit(s: { segments: string | null; count?: number | undefined }): string {
  const sel = s.segments === null ? 'no --segments' : `--segments ${JSON.stringify(s.segments)}`;
  return s.count === undefined ? sel : `${sel} --shards ${s.count}`;
}
